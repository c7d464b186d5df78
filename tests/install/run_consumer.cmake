# Installs the build into a scratch prefix, builds tests/install/consumer against it with
# find_package(phasespace), runs it and checks its answer. Arguments: BUILD_DIR, SOURCE_DIR, WORK_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
function(run_step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${name} failed (${status}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()
run_step(install ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
run_step(configure ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/consumer" -B "${WORK_DIR}/build"
         -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run_step(build ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run_step(run "${WORK_DIR}/build/consumer")
if(NOT step_output MATCHES "mean_x -1\\.(49999|50000)")
  message(FATAL_ERROR "the consumer printed '${step_output}', expected mean_x -1.5 to 1e-5 (-x0 after half a period)")
endif()
message(STATUS "consumer: ${step_output}")

# The installed program draws figures with the installed plot_study.py (share/phasespace), found
# next to itself: no source tree needed.
if(NOT EXISTS "${WORK_DIR}/prefix/share/phasespace/plot_study.py")
  message(FATAL_ERROR "plot_study.py was not installed to share/phasespace")
endif()
file(WRITE "${WORK_DIR}/study.json" "{\"name\": \"installed\", \"backend\": \"cpu\",
  \"system\": {\"domain\": [-6.0, 6.0], \"potential\": \"0.5*x^2\"},
  \"initial_state\": {\"kind\": \"gaussian\", \"x0\": 1.0, \"sigma\": 0.4},
  \"hbar\": [0.2, 0.1], \"resolution\": {\"p_cut\": 3.0, \"oversampling\": 1.5},
  \"window\": {\"width\": {\"coefficient\": 1.0}}, \"phase_space\": {\"p_max\": 2.5},
  \"time\": {\"t_end\": 0.2, \"dt\": 0.01, \"scheme\": \"strang\"},
  \"metrics\": {\"weak_width\": [0.2, 0.2]},
  \"output\": {\"dir\": \"${WORK_DIR}/results\"}}")
run_step(study ${CMAKE_COMMAND} -E env PHASESPACE_FFTW_WISDOM=off
         "${WORK_DIR}/prefix/bin/phasespace" run "${WORK_DIR}/study.json" --quiet)
if(NOT EXISTS "${WORK_DIR}/results/figures/convergence.png")
  message(FATAL_ERROR "the installed phasespace drew no figures:\n${step_output}")
endif()

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

# Finds FFTW3 (double precision) and its OpenMP library.
# Yields the imported targets FFTW::fftw3 and FFTW::fftw3_omp.
find_path(FFTW_INCLUDE_DIR fftw3.h)
find_library(FFTW_LIBRARY NAMES fftw3)
find_library(FFTW_OMP_LIBRARY NAMES fftw3_omp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FFTW REQUIRED_VARS FFTW_LIBRARY FFTW_OMP_LIBRARY FFTW_INCLUDE_DIR)
if(FFTW_FOUND AND NOT TARGET FFTW::fftw3)
  add_library(FFTW::fftw3 UNKNOWN IMPORTED)
  set_target_properties(FFTW::fftw3 PROPERTIES
    IMPORTED_LOCATION "${FFTW_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${FFTW_INCLUDE_DIR}")
  add_library(FFTW::fftw3_omp UNKNOWN IMPORTED)
  set_target_properties(FFTW::fftw3_omp PROPERTIES
    IMPORTED_LOCATION "${FFTW_OMP_LIBRARY}" INTERFACE_LINK_LIBRARIES FFTW::fftw3)
endif()
mark_as_advanced(FFTW_INCLUDE_DIR FFTW_LIBRARY FFTW_OMP_LIBRARY)

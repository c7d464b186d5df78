# Finds muparser (the expression parser used for potentials and states).
# Yields the imported target muparser::muparser. Prefers muparser's own package config.
find_package(muparser CONFIG QUIET)
if(TARGET muparser::muparser)
  set(Muparser_FOUND TRUE)
  return()
endif()
find_path(MUPARSER_INCLUDE_DIR muParser.h)
find_library(MUPARSER_LIBRARY NAMES muparser)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Muparser REQUIRED_VARS MUPARSER_LIBRARY MUPARSER_INCLUDE_DIR)
if(Muparser_FOUND AND NOT TARGET muparser::muparser)
  add_library(muparser::muparser UNKNOWN IMPORTED)
  set_target_properties(muparser::muparser PROPERTIES
    IMPORTED_LOCATION "${MUPARSER_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${MUPARSER_INCLUDE_DIR}")
endif()
mark_as_advanced(MUPARSER_INCLUDE_DIR MUPARSER_LIBRARY)

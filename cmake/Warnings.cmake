# phasespace_warnings: an interface target carrying the project's warning flags.
# PHASESPACE_WARNINGS_AS_ERRORS (on in the ci preset) turns them into errors for host code.
add_library(phasespace_warnings INTERFACE)
target_compile_options(phasespace_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>>  # GCC 12 false positive on std::string + (bug 105329)
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${PHASESPACE_WARNINGS_AS_ERRORS}>>:-Werror>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${PHASESPACE_WARNINGS_AS_ERRORS}>>:-Werror=all-warnings>)

# cmake -DEXPECT_EXIT=N -DSTDOUT_COUNT=n -DSTDOUT_0=regex... -DSTDERR_COUNT=n ...
#       -P expect.cmake -- PROGRAM ARGS...
#
# Runs PROGRAM ARGS and fails unless it exits with EXPECT_EXIT and every
# STDOUT_i (STDERR_i) regex matches its standard output (error). Used by
# faultline_cli_run() in CMakeLists.txt.
set(command "")
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_dashes)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()

execute_process(COMMAND ${command} RESULT_VARIABLE exit_code OUTPUT_VARIABLE STDOUT
                ERROR_VARIABLE STDERR)
string(REPLACE ";" " " shown "${command}")
set(failures "")
if(NOT exit_code STREQUAL EXPECT_EXIT)
  string(APPEND failures "exit code: expected ${EXPECT_EXIT}, got ${exit_code}\n")
endif()
foreach(stream STDOUT STDERR)
  if(${stream}_COUNT GREATER 0)
    math(EXPR last "${${stream}_COUNT} - 1")
    foreach(i RANGE ${last})
      if(NOT "${${stream}}" MATCHES "${${stream}_${i}}")
        string(APPEND failures "${stream}: no match for regex \"${${stream}_${i}}\"\n")
      endif()
    endforeach()
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "${shown}\n${failures}--- stdout:\n${STDOUT}--- stderr:\n${STDERR}")
endif()

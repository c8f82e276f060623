# Runs traceability.py with the first CTest JUnit file found in the build directory
# (junit.xml, or ctest-junit.xml as tools/test.sh writes it), else without statuses.
set(args ${SCRIPT} --root ${ROOT})
foreach(name junit.xml ctest-junit.xml)
  if(EXISTS ${BUILD}/${name})
    list(APPEND args --junit ${BUILD}/${name})
    break()
  endif()
endforeach()
execute_process(COMMAND ${PY} ${args} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "traceability.py failed (${rc})")
endif()

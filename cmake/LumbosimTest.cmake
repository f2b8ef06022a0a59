# lumbosim_test(NAME SOURCES ... LIBS ... LABELS ...): one gtest executable, discovered by ctest.
include(GoogleTest)
function(lumbosim_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main lumbosim_warnings)
  target_compile_definitions(${name} PRIVATE
    LUMBOSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    LUMBOSIM_CLI="$<TARGET_FILE:lumbosim>")
  # Render tests load the system's OpenGL driver, which leaks in its own (unsymbolized) code:
  # LeakSanitizer is off for them only; ASan's other checks stay on.
  set(env "")
  if("render" IN_LIST T_LABELS)
    set(env "ASAN_OPTIONS=detect_leaks=0")
  endif()
  gtest_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "${env}" DISCOVERY_TIMEOUT 60)
endfunction()

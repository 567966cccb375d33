# SPDX-License-Identifier: GPL-2.0
#
# Installs the project into a fresh prefix and builds userspace/example
# against it through find_package(mmapdemo), as another project would.
# cmake -DBUILD=<build> -DSOURCE=<example> -DWORK=<scratch> -DCXX=<compiler>
#       -DCXX_FLAGS=<flags> -DLINK_FLAGS=<flags> -P example.cmake
foreach(var BUILD SOURCE WORK CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "example.cmake: -D${var}=... is missing")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix
  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build
    -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_CXX_COMPILER=${CXX}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}"
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build COMMAND_ERROR_IS_FATAL ANY)
if(NOT EXISTS ${WORK}/build/example)
  message(FATAL_ERROR "example.cmake: the build made no ${WORK}/build/example")
endif()

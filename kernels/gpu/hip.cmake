# The HIP build of kernels/gpu. CMake's HIP language does not find Debian's ROCm layout
# (hip-lang-config.cmake lives under lib/<triplet>), so each .cu is compiled by hipcc as a custom
# command and the objects form the static library dllm_gpu. Usage: dllm_add_hip_library(sources...).
find_program(DLLM_HIPCC hipcc REQUIRED)
find_library(DLLM_AMDHIP64 amdhip64 REQUIRED)
if(NOT DLLM_HIP_ARCHITECTURES)
  set(DLLM_HIP_ARCHITECTURES "gfx90a;gfx940")
endif()

function(dllm_add_hip_library)
  set(flags -x hip -std=c++17 -O3 -fPIC -DDLLM_HIP=1 -I${CMAKE_SOURCE_DIR} -Wall -Wextra)
  foreach(arch IN LISTS DLLM_HIP_ARCHITECTURES)
    list(APPEND flags --offload-arch=${arch})
  endforeach()
  set(objects)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/hip)  # hipcc writes each object and its depfile there
  foreach(src IN LISTS ARGN)
    get_filename_component(stem ${src} NAME_WE)
    set(obj ${CMAKE_CURRENT_BINARY_DIR}/hip/${stem}.o)
    add_custom_command(OUTPUT ${obj}
      COMMAND ${DLLM_HIPCC} ${flags} -MD -MF ${obj}.d -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${obj}
      DEPENDS ${src} DEPFILE ${obj}.d
      COMMENT "hipcc ${src} (${DLLM_HIP_ARCHITECTURES})" VERBATIM)
    list(APPEND objects ${obj})
  endforeach()
  add_library(dllm_gpu STATIC ${objects})
  set_target_properties(dllm_gpu PROPERTIES LINKER_LANGUAGE CXX)
  target_link_libraries(dllm_gpu PUBLIC ${DLLM_AMDHIP64})
endfunction()

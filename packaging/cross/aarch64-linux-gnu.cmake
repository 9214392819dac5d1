# CMake toolchain for Debian's arm64 cross compiler (g++-aarch64-linux-gnu)
# with the arm64 multiarch -dev packages installed beside the host's
# (dpkg --add-architecture arm64). packaging/cross/build-cross.sh uses it and
# sets PKG_CONFIG_LIBDIR to the arm64 .pc files.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip)
# find_package() looks in /usr/lib/aarch64-linux-gnu/cmake (spdlog, fmt) and
# in the arch-independent /usr/share/cmake, /usr/lib/cmake (CLI11, nlohmann_json).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Run what the build runs on the host through qemu, if it ever needs to.
find_program(PORTHOP_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(PORTHOP_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PORTHOP_QEMU_AARCH64})
endif()

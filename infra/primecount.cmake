# Read by CMake when the `primecount` crate builds libprimecount (see .cargo/config.toml).
# Single-threaded, statically linked, no OpenMP runtime needed.
set(WITH_OPENMP OFF CACHE BOOL "" FORCE)
set(CMAKE_DISABLE_FIND_PACKAGE_OpenMP TRUE CACHE BOOL "" FORCE)

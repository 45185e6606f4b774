"""Build of the compiled core.

Every compiler directive and flag lives here. Development modes are switched by
environment variables, never by editing this file:

  CCXF_DEBUG=1     bounds/wraparound checks on, C assertions kept (no -DNDEBUG), -O0 -g
  CCXF_ANNOTATE=1  write Cython's HTML annotation next to each .pyx (hot loops should be white)
  CCXF_TRACE=1     line tracing for coverage of the .pyx files
  CCXF_SANITIZE=address,undefined  build with those sanitizers (run with LD_PRELOAD of libasan)
"""
import os

import Cython
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CCXF_DEBUG") == "1"
TRACE = os.environ.get("CCXF_TRACE") == "1"
ANNOTATE = os.environ.get("CCXF_ANNOTATE") == "1"
SANITIZE = os.environ.get("CCXF_SANITIZE", "")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
    "linetrace": TRACE,
    "profile": False,
}

# -fno-tree-loop-distribute-patterns: gcc would turn the few-byte copy loops of checksum
# text into libc memcpy/memset calls, which cost more than the copies themselves.
compile_args = [
    "-std=c11", "-Wall", "-Wno-unused-function", "-Wno-unreachable-code",
    "-fno-tree-loop-distribute-patterns",
]
link_args = []
macros = [
    ("CCXF_BUILD_MODE", '"debug"' if DEBUG else '"release"'),
    ("CCXF_CYTHON_VERSION", f'"{Cython.__version__}"'),
]
if DEBUG:
    compile_args += ["-O0", "-g"]
else:
    compile_args += ["-O3"]
    macros.append(("NDEBUG", "1"))
if TRACE:
    macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
if SANITIZE:
    compile_args += [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-g"]
    link_args += [f"-fsanitize={SANITIZE}"]

CORE = "ccxtpro_fast/_core"


def core_extension(name, libraries=()):
    return Extension(
        f"ccxtpro_fast._core.{name}",
        [f"{CORE}/{name}.pyx"],
        include_dirs=[f"{CORE}/src"],
        depends=[f"{CORE}/src/ccxf.h", f"{CORE}/src/ccxf_crc32.h"],
        libraries=list(libraries),
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )


extensions = [
    core_extension("orderbook", libraries=["z"]),
    core_extension("framing", libraries=["z"]),
    core_extension("jsonscan"),
    core_extension("diffs"),
    core_extension("safe"),
    core_extension("timefmt"),
    core_extension("wslistener"),
    core_extension("dispatch"),
]

setup(
    packages=[
        "ccxtpro_fast",
        "ccxtpro_fast._core",
        "ccxtpro_fast.base",
        "ccxtpro_fast.sim",
        "ccxtpro_fast.bench",
        "ccxtpro_fast.exchanges",
    ],
    # The adapters live in the top-level folder exchanges/ of the repository but are
    # installed inside the package, so nothing named `exchanges` lands at the top of
    # site-packages.
    package_dir={"ccxtpro_fast.exchanges": "exchanges"},
    package_data={
        "ccxtpro_fast": ["py.typed"],
        "ccxtpro_fast._core": ["*.pxd", "*.pyi", "src/*.h"],
    },
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        annotate=ANNOTATE,
        build_dir=None,
    ),
    zip_safe=False,
)

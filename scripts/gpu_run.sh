#!/usr/bin/env bash
# One call on the lent GPU machine (no registry, no GStreamer, no ../shared): builds what the GPU checks need, runs
# the GPU tests and the GPU benchmarks, and leaves the report in $OUT. Prepare the kit here first:
#   bash scripts/gpu_kit.sh
#   device run: carry [".gpukit"], command "bash scripts/gpu_run.sh", timeout 600
# Phases (each logged with its time): unpack the kit into /tmp/sysroot, build OpenCV core/imgproc/imgcodecs there,
# configure with the wheel's LibTorch, build the GPU test and bench targets, run kernels_gpu and test_device, run
# the benchmarks. $OUT/gpu_report.txt holds everything; $OUT/*.xml the gtest results.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out"
exec > >(tee "$out/gpu_report.txt") 2>&1
start=$(date +%s)
phase() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

phase "machine"
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' \
  || echo "python3's torch sees no GPU"
nproc
export PATH=/usr/local/cuda/bin:$PATH
nvcc --version | tail -1

sysroot=/tmp/sysroot
phase "unpack the kit"
[ -d .gpukit/debs ] || { echo "no .gpukit: run scripts/gpu_kit.sh here and carry .gpukit"; exit 1; }
mkdir -p "$sysroot"
for deb in .gpukit/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
# pkg-config from the kit, reading .pc files under the sysroot.
export PATH="$sysroot/usr/bin:$PATH"
export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu:$sysroot/usr/lib:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig:$sysroot/usr/lib/pkgconfig:$sysroot/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"
[ -x "$sysroot/usr/bin/pkgconf" ] && ln -sf pkgconf "$sysroot/usr/bin/pkg-config"
pkg-config --modversion libpng gtest nlohmann_json || echo "pkg-config: something is missing"

phase "OpenCV (core, imgproc, imgcodecs)"
if [ ! -f "$sysroot/usr/lib/pkgconfig/opencv4.pc" ] && [ ! -f "$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig/opencv4.pc" ]; then
  rm -rf /tmp/opencv-min /tmp/opencv-build
  tar -xJf .gpukit/opencv-min.tar.xz -C /tmp
  cmake -S /tmp/opencv-min -B /tmp/opencv-build -G Ninja -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_LIST=core,imgproc,imgcodecs -DBUILD_SHARED_LIBS=ON \
    -DOPENCV_GENERATE_PKGCONFIG=ON -DCPU_DISPATCH= -DCPU_BASELINE=AVX2 \
    -DJPEG_INCLUDE_DIR="$sysroot/usr/include" -DJPEG_LIBRARY="$sysroot/usr/lib/x86_64-linux-gnu/libjpeg.so" \
    -DPNG_PNG_INCLUDE_DIR="$sysroot/usr/include" -DPNG_LIBRARY="$sysroot/usr/lib/x86_64-linux-gnu/libpng.so" \
    -DZLIB_INCLUDE_DIR="$sysroot/usr/include" -DZLIB_LIBRARY="$sysroot/usr/lib/x86_64-linux-gnu/libz.so" \
    -DWITH_JPEG=ON -DBUILD_JPEG=OFF -DWITH_PNG=ON -DBUILD_PNG=OFF -DBUILD_ZLIB=OFF \
    -DWITH_IPP=OFF -DWITH_ITT=OFF -DWITH_OPENCL=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_EIGEN=OFF \
    -DWITH_LAPACK=OFF -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF -DWITH_OPENEXR=OFF \
    -DWITH_GDAL=OFF -DWITH_GDCM=OFF -DWITH_IMGCODEC_HDR=OFF -DWITH_IMGCODEC_SUNRASTER=OFF \
    -DWITH_IMGCODEC_PFM=OFF -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF \
    -DBUILD_opencv_apps=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_python2=OFF \
    -DWITH_PROTOBUF=OFF -DWITH_ADE=OFF -DWITH_CAROTENE=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF -DWITH_GTK=OFF \
    -DWITH_QT=OFF -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_1394=OFF -DWITH_CUDA=OFF \
    -DWITH_OPENVX=OFF -DWITH_VULKAN=OFF -DWITH_QUIRC=OFF -DBUILD_DOCS=OFF >/tmp/opencv-cmake.log 2>&1 \
    || { tail -30 /tmp/opencv-cmake.log; exit 1; }
  DESTDIR="$sysroot" ninja -C /tmp/opencv-build -j"$(nproc)" install >/tmp/opencv-build.log 2>&1 \
    || { tail -30 /tmp/opencv-build.log; exit 1; }
fi
pkg-config --modversion opencv4

phase "configure (wheel LibTorch, CUDA, no GStreamer)"
# TORCH_PREFIX overrides (a rehearsal of this script on a machine without the wheel: TORCH_PREFIX=/usr).
torch_prefix=${TORCH_PREFIX:-$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')}
rm -rf build-gpu
meson setup build-gpu -Dtorch_prefix="$torch_prefix" -Dgst=disabled -Dcuda=enabled -Dbuildtype=release \
  >/tmp/meson-setup.log 2>&1 || { tail -40 /tmp/meson-setup.log; exit 1; }
grep -E "LibTorch prefix|CUDA kernels|CUDA arch" /tmp/meson-setup.log

phase "build the GPU targets"
targets=(tests/kernels/test_kernels_gpu tests/test_device bench/oceanplus-bench-kernels bench/oceanplus-bench-tracker
         bench/oceanplus-bench-network)
ninja -C build-gpu -j"$(nproc)" "${targets[@]}" >/tmp/ninja.log 2>&1 || { grep -E "error|FAILED" -A5 /tmp/ninja.log | head -60; exit 1; }

export OCEANPLUS_SOURCE_DIR=$PWD
phase "GPU tests"
./build-gpu/tests/kernels/test_kernels_gpu --gtest_output=xml:"$out/kernels_gpu.xml" 2>&1 | tail -25
./build-gpu/tests/test_device --gtest_output=xml:"$out/test_device.xml" 2>&1 | tail -30

phase "kernel benchmarks"
./build-gpu/bench/oceanplus-bench-kernels 2>&1 | tail -20

phase "network benchmarks (OceanPlus MSS/MMS at 255/287: template, frame and per-stage medians)"
./build-gpu/bench/oceanplus-bench-network --device cuda --runs 100 --warmup 10 --precision fp16 2>&1 | tail -16
./build-gpu/bench/oceanplus-bench-network --device cpu --threads "$(nproc)" --runs 10 --warmup 2 2>&1 | tail -12

phase "tracker benchmarks (vtest 768x576; box 638,238,48,84 gives search 255, box 700,300,20,30 gives 287)"
bench=./build-gpu/bench/oceanplus-bench-tracker
small_box=700,300,20,30
for spec in models/oceanplus-lite.pt random-mss random-mms; do
  $bench --model "$spec" --device cuda --count 200 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 200 --frame-step off 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 100 --targets 4 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 200 --precision fp16 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 100 --targets 4 --precision fp16 2>&1 | tail -2
  $bench --model "$spec" --device cpu --count 20 2>&1 | tail -2
done
for spec in random-mss random-mms; do
  $bench --model "$spec" --device cuda --count 200 --box $small_box 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 100 --box $small_box --targets 4 2>&1 | tail -2
  $bench --model "$spec" --device cuda --count 200 --box $small_box --precision fp16 2>&1 | tail -2
  $bench --model "$spec" --device cpu --count 20 --box $small_box 2>&1 | tail -2
done

phase "done"

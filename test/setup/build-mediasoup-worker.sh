#!/bin/sh
# Builds the mediasoup 3.8.4 worker offline (its own postinstall is disabled in package.json because
# it would fail here). The finished binary is cached outside the clone, keyed by mediasoup version,
# so later installs and CI runs copy it instead of spending ~2.5 minutes compiling.
set -eu
dir=node_modules/mediasoup
[ -d "$dir/worker" ] || { echo "build-mediasoup-worker: $dir not installed, skipping"; exit 0; }
version=$(node -p "require('./$dir/package.json').version")
out="$dir/worker/out/Release/mediasoup-worker"
cache="${MEDIASOUP_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mediasoup-recorder}/mediasoup-worker-$version"
if [ -x "$out" ]; then exit 0; fi
if [ -x "$cache" ]; then
  mkdir -p "$(dirname "$out")" && cp "$cache" "$out"
  echo "build-mediasoup-worker: worker $version from cache $cache"
  exit 0
fi
# gyp in mediasoup 3.8 needs Python 2.7; newer glibc makes SIGSTKSZ a long, which std::max rejects.
python2="${PYTHON:-$(pyenv root 2>/dev/null)/versions/2.7.18/bin/python2}"
[ -x "$python2" ] || { echo "build-mediasoup-worker: Python 2.7 not found at $python2 (set PYTHON)" >&2; exit 1; }
sed -i 's/std::max(SIGSTKSZ, 65536)/std::max<long>(SIGSTKSZ, 65536)/' \
  "$dir/worker/deps/libwebrtc/deps/abseil-cpp/abseil-cpp/absl/debugging/failure_signal_handler.cc"
log="$dir/worker/build.log"
echo "build-mediasoup-worker: compiling mediasoup $version worker (about 2.5 minutes; log in $log)"
PYTHON="$python2" make -C "$dir/worker" >"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "build-mediasoup-worker: build failed, see $log" >&2; exit 1; }
mkdir -p "$(dirname "$cache")" && cp "$out" "$cache.tmp" && mv "$cache.tmp" "$cache" || true

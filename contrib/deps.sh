#!/bin/sh
# Install the Debian 12 packages cloudDNS needs that are not installed yet.
#   contrib/deps.sh build   what building needs
#   contrib/deps.sh test    what building and every test needs
set -eu
what=${1:-build}
pkgs="build-essential autoconf automake libtool pkg-config libev-dev libyaml-dev libcmocka-dev libgnutls28-dev"
if [ "$what" = test ]; then
	pkgs="$pkgs python3 python3-pytest python3-dnspython knot knot-dnsutils bind9-dnsutils bind9 clang"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing

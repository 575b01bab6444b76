#!/bin/sh
# A stand-in for a gateway written in another language (Go, Rust, C++...). It knows nothing about
# Plumbline: it only writes the configuration artifact it "runs" into its data directory, the way
# a real gateway's deploy hook or hot reload would. `plumbline agent` runs beside it and reports.
#
#   gateway.sh deploy ARTIFACT DATA_DIR   install ARTIFACT as DATA_DIR/current.plb (atomic rename)
#   gateway.sh patch DATA_DIR             an operator's in-place hot-patch of the deployed file
set -eu
case "$1" in
  deploy)
    cp "$2" "$3/current.plb.tmp"
    mv "$3/current.plb.tmp" "$3/current.plb"
    ;;
  patch)
    # Rewrite one upstream name inside the compiled routes, keeping the file's length.
    sed 's/"upstream": "orders"/"upstream": "backup"/' "$2/current.plb" > "$2/current.plb.tmp"
    mv "$2/current.plb.tmp" "$2/current.plb"
    ;;
  *)
    echo "usage: gateway.sh deploy ARTIFACT DATA_DIR | patch DATA_DIR" >&2
    exit 2
    ;;
esac

"""Test support shipped with the package: fake clock, fake upstream, ports, moto and server helpers."""

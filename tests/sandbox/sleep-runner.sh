#!/bin/sh
# A module runner that never answers (for the timeout message).
exec sleep 1000

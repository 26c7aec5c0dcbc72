#!/usr/bin/python3
# A module runner in the reference's style: JSON in, JSON out, the module
# id as the last argument.
import json
import sys

data = json.load(sys.stdin)
json.dump({"module": sys.argv[-1], "keys": sorted(data), "size": len(json.dumps(data))}, sys.stdout)

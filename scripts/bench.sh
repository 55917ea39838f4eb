#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: not written yet (issue 7: benchmarks).
echo "bench: the benchmark module and runner are not written yet" >&2
exit 2

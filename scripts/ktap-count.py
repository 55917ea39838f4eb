#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count KUnit test cases in a console log with the kernel's own parser.

    ktap-count.py SRC LOG NAME RESULTS_DIR [SUITE]

Prints kunit.py's condensed results and writes RESULTS_DIR/NAME.counts
("passed failed skipped"). Crashed cases and parse errors count as
failed; a log where no case passed is one failure, and so is one where
SUITE (the suite this boot is for) passed no case: a boot where
everything skipped proves nothing.
"""
import os
import sys

src, log, name, results = sys.argv[1:5]
suite = sys.argv[5] if len(sys.argv) > 5 else None
sys.path.insert(0, os.path.join(src, 'tools/testing/kunit'))
sys.dont_write_bytecode = True
import kunit_parser  # noqa: E402

with open(log, errors='replace') as f:
    test = kunit_parser.parse_run_tests(f.readlines())

c = test.counts
failed = c.failed + c.crashed + c.errors
if c.passed == 0:
    print(f'{name}: no case passed')
    failed += 1
if suite and not any(t.name == suite and t.counts.passed
                     for t in test.subtests):
    print(f'{name}: suite {suite} passed no case')
    failed += 1
os.makedirs(results, exist_ok=True)
with open(os.path.join(results, name + '.counts'), 'w') as f:
    f.write(f'{c.passed} {failed} {c.skipped}\n')
print(f'{name}: {c.passed} passed, {failed} failed, {c.skipped} skipped')
sys.exit(1 if failed else 0)

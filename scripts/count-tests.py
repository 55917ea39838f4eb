#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count test cases of a guest run framed by scripts/guest/run-tests.sh.

    count-tests.py LOG NAME RESULTS_DIR

KIND tap: kselftest TAP; every top-level "ok N" / "not ok N" line is a
case ("# SKIP" counts as skipped); a non-zero exit with no failing case,
or a binary where no case passed, is one more failure.
KIND exit: the program is one case: exit 0 passes, anything else
(including kselftest's skip code 4) fails: the tests we run must run.
"""
import os
import re
import sys

log, name, results = sys.argv[1:4]
passed = failed = skipped = 0
cur = None
tap_ok = re.compile(r'^(not )?ok \d+ (.*)$')
with open(log, errors='replace') as f:
    for line in f:
        line = line.rstrip('\n')
        m = re.match(r'^SNPTEST-BEGIN (\S+) (\S+)$', line)
        if m:
            cur = {'kind': m.group(1), 'name': m.group(2),
                   'p': 0, 'f': 0, 's': 0}
            continue
        m = re.match(r'^SNPTEST-END (\S+) (\S+) (\d+)$', line)
        if m and cur:
            st = int(m.group(3))
            if cur['kind'] == 'exit':
                if st == 0:
                    cur['p'] += 1
                else:
                    cur['f'] += 1
            elif (st != 0 and cur['f'] == 0) or cur['p'] == 0:
                # A failing exit with no failing case, or a binary where
                # no case passed (all skipped proves nothing): one more.
                cur['f'] += 1
            verdict = 'ok' if cur['f'] == 0 else 'FAILED'
            print(f"  {cur['name']}: {cur['p']} passed, {cur['f']} failed, "
                  f"{cur['s']} skipped (exit {st}) {verdict}")
            passed += cur['p']
            failed += cur['f']
            skipped += cur['s']
            cur = None
            continue
        if cur and cur['kind'] == 'tap':
            m = tap_ok.match(line)
            if m:
                if '# SKIP' in m.group(2):
                    cur['s'] += 1
                elif m.group(1):
                    cur['f'] += 1
                    print(f"  FAIL: {cur['name']}: {m.group(2)}")
                else:
                    cur['p'] += 1
if cur:
    print(f"  {cur['name']}: did not finish")
    failed += cur['f'] + 1
    passed += cur['p']
    skipped += cur['s']
if passed + failed + skipped == 0:
    print(f'{name}: no test ran')
    failed = 1
os.makedirs(results, exist_ok=True)
with open(os.path.join(results, name + '.counts'), 'w') as f:
    f.write(f'{passed} {failed} {skipped}\n')
print(f'{name}: {passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed else 0)

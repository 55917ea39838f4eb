#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn main into a patch series on the pristine Debian source (make series).

    series.py ROOT BUILD [MANIFEST]

Reads series/MANIFEST (the format is described at its top), checks that
it places every file of ours, every patches/ file and every Kconfig entry
of ours exactly once, commits the patches in order onto a git repository
of the pristine tree (.build/series-tree, tag "base"), checks that the
last commit's tree is the tree the build uses (.build/src), and writes
git format-patch -v1 --cover-letter --base=base into .build/series/, with
the cover letter from series/cover-letter.txt. Exits non-zero, saying why,
on any inconsistency.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import textwrap

ROOT, BUILD = sys.argv[1], sys.argv[2]
PRISTINE = os.path.join(BUILD, 'pristine', 'linux-source-6.12')
SRC = os.path.join(BUILD, 'src')
TREE = os.path.join(BUILD, 'series-tree')
OUT = os.path.join(BUILD, 'series')
SERIES = os.path.join(ROOT, 'series')

# Files of ours whose content at each step is derived from the final file.
KCONFIGS = ('mm/snp/Kconfig', 'virt/kvm/snp/Kconfig')
MAKEFILE = 'mm/snp/Makefile'
ENTRY = 'SNP PAGE LOCK (SEV-SNP HOST ACCESS TO GUEST PAGES)'


def die(msg):
    sys.stderr.write(f'series: {msg}\n')
    sys.exit(1)


def git(*args, cwd=TREE, env=None, stdin=None):
    r = subprocess.run(['git', *args], cwd=cwd, env=env, input=stdin,
                       text=True, capture_output=True)
    if r.returncode:
        die(f'git {" ".join(args)}: {r.stdout}{r.stderr.strip()}')
    return r.stdout


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def parse_manifest():
    steps = []
    manifest = sys.argv[3] if len(sys.argv) > 3 else os.path.join(SERIES, 'MANIFEST')
    for n, line in enumerate(read(manifest).splitlines(), 1):
        line = line.split('#', 1)[0].split()
        if not line:
            continue
        key, args = line[0], line[1:]
        if key == 'patch':
            if len(args) != 1:
                die(f'MANIFEST:{n}: patch takes one name')
            steps.append({'name': args[0], 'files': [], 'hunks': [],
                          'config': []})
        elif key in ('files', 'hunks', 'config') and steps:
            steps[-1][key] += args
        else:
            die(f'MANIFEST:{n}: unknown or misplaced line "{key}"')
    return steps


def kconfig_blocks(text):
    """Split a Kconfig file into its head and {symbol: block}, in order."""
    parts = re.split(r'(?m)^(?=config )', text)
    head, blocks = parts[0], {}
    for p in parts[1:]:
        blocks[p.split()[1]] = p
    return head, blocks


def grow_kconfig(text, symbols):
    head, blocks = kconfig_blocks(text)
    kept = [b for s, b in blocks.items() if s in symbols]
    if not kept:
        return None
    return (head + ''.join(kept)).rstrip('\n') + '\n'


def grow_makefile(text, present):
    out = []
    for line in text.splitlines(True):
        objs = re.findall(r'([\w-]+)\.o\b', line) if '+=' in line else []
        if all(f'mm/snp/{o}.c' in present for o in objs):
            out.append(line)
    return ''.join(out)


def f_matches(pattern, present):
    if pattern.endswith('/'):
        return any(p.startswith(pattern) for p in present)
    return any(fnmatch.fnmatchcase(p, pattern) for p in present)


def grow_maintainers(text, present):
    """Keep the F: lines of our entry that match a file already added."""
    out, inside = [], False
    for line in text.splitlines(True):
        if line.rstrip('\n') == ENTRY:
            inside = True
        elif inside and not line.strip():
            inside = False
        if inside and line.startswith('F:\t') and \
           not f_matches(line[3:].strip(), present):
            continue
        out.append(line)
    return ''.join(out)


def main():
    steps = parse_manifest()
    ours = read(os.path.join(BUILD, 'overlay.manifest')).split()
    patches = sorted(p for p in os.listdir(os.path.join(ROOT, 'patches'))
                     if p.endswith('.patch'))
    symbols = {}
    for k in KCONFIGS:
        for s in kconfig_blocks(read(os.path.join(ROOT, k)))[1]:
            symbols[s] = k

    # Every file, patch and Kconfig entry exactly once.
    placed, hunk_of, sym_of = {}, {}, {}
    for st in steps:
        if not os.path.isfile(os.path.join(SERIES, 'msg', st['name'] + '.msg')):
            die(f'no series/msg/{st["name"]}.msg')
        files = []
        for f in st['files']:
            hit = [o for o in ours if o.startswith(f)] if f.endswith('/') \
                else [o for o in ours if o == f]
            if not hit:
                die(f'{st["name"]}: "{f}" names no file of ours')
            files += hit
        st['files'] = files
        for f in files:
            if f in placed:
                die(f'{f} is in both {placed[f]} and {st["name"]}')
            placed[f] = st['name']
        hunks = []
        for h in st['hunks']:
            hit = [p for p in patches if p.startswith(h + '-')]
            if len(hit) != 1:
                die(f'{st["name"]}: hunks {h} matches {len(hit)} patches/ files')
            if hit[0] in hunk_of:
                die(f'patches/{hit[0]} is in both {hunk_of[hit[0]]} and {st["name"]}')
            hunk_of[hit[0]] = st['name']
            hunks.append(hit[0])
        st['hunks'] = hunks
        for s in st['config']:
            if s not in symbols:
                die(f'{st["name"]}: config {s} is in no Kconfig of ours')
            if s in sym_of:
                die(f'config {s} is in both {sym_of[s]} and {st["name"]}')
            sym_of[s] = st['name']
    for what, have, want in (('file of ours', placed, ours),
                             ('patches/ file', hunk_of, patches),
                             ('Kconfig entry', sym_of, symbols)):
        missing = [w for w in want if w not in have]
        if missing:
            die(f'no patch of the series has the {what} ' + ', '.join(missing))

    make_base()
    git('checkout', '-q', '-f', '--detach', 'base')
    git('clean', '-q', '-fdx')

    ident = re.search(r'^From: (.*) <(.*)>$',
                      read(os.path.join(ROOT, 'patches', patches[0])), re.M)
    env = dict(os.environ, GIT_AUTHOR_NAME=ident[1], GIT_AUTHOR_EMAIL=ident[2],
               GIT_COMMITTER_NAME=ident[1], GIT_COMMITTER_EMAIL=ident[2])
    env['GIT_AUTHOR_DATE'] = env['GIT_COMMITTER_DATE'] = git(
        'log', '-1', '--format=%cI', cwd=ROOT).strip()
    present, syms, full_mnt = set(), set(), None
    for st in steps:
        for f in st['files']:
            present.add(f)
            dst = os.path.join(TREE, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), dst)
        for h in st['hunks']:
            with open(os.path.join(ROOT, 'patches', h), 'rb') as p:
                r = subprocess.run(['patch', '-p1', '-F0', '-N', '-s',
                                    '--no-backup-if-mismatch', '-r', '-'],
                                   cwd=TREE, stdin=p, capture_output=True)
            if r.returncode:
                die(f'{st["name"]}: patches/{h} does not apply:\n'
                    + r.stdout.decode() + r.stderr.decode())
        syms |= set(st['config'])
        for k in KCONFIGS:
            if k in present:
                text = grow_kconfig(read(os.path.join(ROOT, k)), syms)
                if text is None:
                    die(f'{st["name"]}: {k} added without any of its entries')
                write(os.path.join(TREE, k), text)
        if MAKEFILE in present:
            write(os.path.join(TREE, MAKEFILE),
                  grow_makefile(read(os.path.join(ROOT, MAKEFILE)), present))
        # Our MAINTAINERS entry comes whole with its hunk and is cut back
        # to the files present at each step; no other hunk may touch it.
        mnt = os.path.join(TREE, 'MAINTAINERS')
        if ENTRY in read(mnt):
            if full_mnt is None:
                full_mnt = read(mnt)
            write(mnt, grow_maintainers(full_mnt, present))

        msg = read(os.path.join(SERIES, 'msg', st['name'] + '.msg')).strip()
        msg += f'\n\nSigned-off-by: {ident[1]} <{ident[2]}>\n'
        git('add', '-A', '-f')
        commit(msg, env)

    # The last patch's tree is the tree make builds.
    touched = git('diff', '--name-only', 'base', 'HEAD').split()
    for f in touched:
        a, b = os.path.join(TREE, f), os.path.join(SRC, f)
        if not os.path.isfile(b) or read(a) != read(b):
            die(f'{f}: the series ends with a different file than .build/src '
                '(run make overlay, or fix series/MANIFEST)')
    for f in ours:
        if f not in touched:
            die(f'{f} is not in the series')

    shutil.rmtree(OUT, ignore_errors=True)
    git('format-patch', '-q', '-v1', '--cover-letter', '--base=base',
        '--no-signature', '-o', OUT, 'base..HEAD')
    cover_letter(steps)
    print(f'series: {len(steps)} patches on '
          f'{read(os.path.join(BUILD, "source-version")).strip()} in {OUT}')


def commit(msg, env):
    git('commit', '-q', '--no-verify', '-F', '-', env=env, stdin=msg)


def make_base():
    """A git repository of the pristine tree, tagged base; kept across runs."""
    version = read(os.path.join(BUILD, 'source-version')).strip()
    stamp = os.path.join(TREE, '.git', 'snp-series-base')
    if os.path.isfile(stamp) and read(stamp).strip() == version:
        git('tag', '-f', base_tag(version), 'base')
        return
    print(f'series: making a git repository of {version} (once; a few minutes)',
          flush=True)
    shutil.rmtree(TREE, ignore_errors=True)
    shutil.copytree(PRISTINE, TREE, symlinks=True,
                    ignore=shutil.ignore_patterns('.unpacked'))
    git('init', '-q')
    git('config', 'gc.auto', '0')
    git('add', '-A', '-f')
    env = dict(os.environ, GIT_AUTHOR_NAME='Debian', GIT_AUTHOR_EMAIL='debian-kernel@lists.debian.org',
               GIT_COMMITTER_NAME='Debian', GIT_COMMITTER_EMAIL='debian-kernel@lists.debian.org',
               GIT_AUTHOR_DATE='2000-01-01T00:00:00Z', GIT_COMMITTER_DATE='2000-01-01T00:00:00Z')
    commit(f'{version}\n\nThe pristine tree of Debian\'s package, the base of the series.\n', env)
    git('tag', '-f', 'base')
    git('tag', '-f', base_tag(version), 'base')
    write(stamp, version + '\n')


def base_tag(version):
    """The base's version as a tag name: linux-source-6.12_6.12.117-1_deb12u1."""
    pkg, deb = version.split()[:2]
    return re.sub(r'[^\w.-]', '_', f'{pkg}_{deb}')


def test_summary():
    """What the tests are, counted from the tree."""
    def count(pattern, paths):
        n = 0
        for p in paths:
            n += len(re.findall(pattern, read(os.path.join(ROOT, p)), re.M))
        return n

    ours = read(os.path.join(BUILD, 'overlay.manifest')).split()
    kunit = count(r'^\s*KUNIT_CASE\w*\(', ['mm/snp/snp_page_lock_kunit.c'])
    suites = count(r'^static struct kunit_suite ', ['mm/snp/snp_page_lock_kunit.c'])
    ksft = [f for f in ours if f.startswith('tools/testing/selftests/snp_page_lock/')
            and f.endswith('.c')]
    ksft_cases = count(r'^TEST(?:_F)?(?:_TIMEOUT)?\(', ksft)
    ksft_progs = [f for f in ksft if count(r'^TEST(?:_F)?(?:_TIMEOUT)?\(', [f])]
    kvm = [f for f in ours if f.startswith('tools/testing/selftests/kvm/')
           and f.endswith('_test.c')]
    models = [f for f in ours if f.endswith('.pml')]
    lines = (f'- KUnit: {kunit} cases in {suites} suites (the layer on, the layer '
             'off, and the lockdep reports G5 expects), run on UML and x86 and in a '
             'KCSAN kernel.\n'
             f'- kselftests (tools/testing/selftests/snp_page_lock): {ksft_cases} '
             f'harness cases in {len(ksft_progs)} programs over /dev/snp_page_lock, '
             'with '
             'a fuzzer of its ioctls and an annotated demo.\n'
             f'- KVM selftests: {len(kvm)} programs on KVM_X86_SW_PROTECTED_VM, run '
             'in an L1 guest under QEMU with nested SVM; the upstream KVM '
             'selftests that pass under TCG run with the layer on.\n'
             '- A torture module (snp_page_lock_torture.run=1), also in the KCSAN '
             'kernel.\n'
             f'- {len(models)} Promela models checked by spin, each property proved '
             'and each planted bug variant caught.\n')
    return ''.join(textwrap.fill(item, 72, subsequent_indent='  ') + '\n'
                   for item in lines.splitlines())


def cover_letter(steps):
    text = read(os.path.join(SERIES, 'cover-letter.txt'))
    version = read(os.path.join(BUILD, 'source-version')).strip()
    text = text.replace('@BASE@', version)
    text = text.replace('@TESTS@', test_summary().rstrip('\n'))

    # Every test the letter names must exist.
    ours = read(os.path.join(BUILD, 'overlay.manifest')).split()
    corpus = '\n'.join(read(os.path.join(ROOT, f)) for f in ours
                       if f.endswith(('.c', '.h', '.pml')))

    def name_test(m):
        t = m.group(1)
        if t not in corpus and not any(os.path.basename(f).startswith(t)
                                       for f in ours):
            die(f'series/cover-letter.txt names {t}, which no test has')
        return t
    text = re.sub(r'\{test:([\w.-]+)\}', name_test, text)

    subject, blurb = text.split('\n', 1)
    cover = os.path.join(OUT, 'v1-0000-cover-letter.patch')
    c = read(cover)
    if '*** SUBJECT HERE ***' not in c or '*** BLURB HERE ***' not in c:
        die('git format-patch wrote no cover letter template')
    c = c.replace('*** SUBJECT HERE ***', subject.strip())
    c = c.replace('*** BLURB HERE ***', blurb.strip('\n'))
    write(cover, c)


if __name__ == '__main__':
    main()

#!/bin/bash
# Run by tests/guest/devel.sh in the guest, chrooted into the host's
# userland, with the share (the image) as working directory: $1.
#   untar in/project.tar.gz, make, run the program, make check;
#   git init/add/commit, a second commit, log, status, gc, fsck;
#   checksums of every source and built file.
# Output in out/devel/: output.txt (the program's), HEAD (commit id),
# SHA256SUMS, STEPS (one line per step with its time), RESULT.
set -euo pipefail
# the same on the host (the reference run) as in the guest: no user or
# system git configuration, bytewise sorting
export LC_ALL=C GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
W=$1
D=$W/out/devel
cd "$D"

step() {
	local t0=$SECONDS
	"$@"
	echo "ok $1 $((SECONDS - t0))s" >>"$D/STEPS"
}

# Fixed identity and dates: the host makes the same commits and must get
# the same commit ids.
export GIT_AUTHOR_NAME=vhostfs GIT_AUTHOR_EMAIL=vhostfs@localhost
export GIT_COMMITTER_NAME=vhostfs GIT_COMMITTER_EMAIL=vhostfs@localhost
export GIT_AUTHOR_DATE='2026-11-27T12:00:00Z' GIT_COMMITTER_DATE='2026-11-27T12:00:00Z'
git_() { git -c init.defaultBranch=main -c gc.auto=0 -c core.fileMode=true "$@"; }

unpack() {
	tar -xzf "$W/in/project.tar.gz"
	cd project
}

build() {
	make -s
	./vcalc *.c >../output.txt
	make -s check >/dev/null
	cmp output.txt ../output.txt
}

repo() {
	printf '*.o\nvcalc\noutput.txt\n' >.gitignore
	git_ init -q
	git_ add -A
	git_ commit -q -m "vcalc: import"
	[ -z "$(git_ status --porcelain)" ]
	# a change: an edit, a rename, a new file; a rebuild picks them up
	sed -i 's/primes %u/prime count %u/' main.c
	git_ mv fib.c fibonacci.c
	sed -i 's/fib\.o/fibonacci.o/' Makefile
	echo "vcalc: built by the vhostfs test guest" >README
	git_ add -A
	git_ commit -q -m "vcalc: rename fib, reword primes"
	[ "$(git_ log --oneline | wc -l)" -eq 2 ]
	[ -z "$(git_ status --porcelain)" ]
	make -s
	./vcalc | grep -q '^prime count 17984$'
	git_ gc -q
	git_ fsck --full --strict --no-progress
	git_ rev-parse HEAD >../HEAD
}

sums() {
	find . -path ./.git -prune -o -type f -print | LC_ALL=C sort |
		xargs sha256sum >../SHA256SUMS
}

: >"$D/STEPS"
step unpack
step build
step repo
step sums
echo "DONE ok" >"$D/RESULT"

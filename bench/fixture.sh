# bench/fixture.sh: the benchmark's libvirt test-driver fixture (bash library).
# shellcheck shell=bash
#
#   . bench/fixture.sh
#   bench_fixture_write FILE USERS PER_USER REAL_OWNER [OWNER_FORMAT]
#
# Writes a test-driver <node> file (libvirt docs/drvtest.rst; open it as test:///ABS/FILE)
# with USERS x PER_USER domains. Each carries wirt's metadata exactly as wirt writes it
# (src/core/wirt-meta.c, wirt_meta_format: one <vm> element declaring WIRT_META_NS as its
# default namespace, facts as attributes) and is named as wirt names it
# (src/core/wirt-names.c, wirt_name_domain: "OWNER.NAME").
#
# The first owner is REAL_OWNER (a real user, for the one-user measurement); the others are
# fictitious names (bench-u001, …), which a daemon lists for an admin without them existing;
# OWNER_FORMAT (a printf format of the user's index, default "bench-u%03d") names real users
# instead (bench/files-scale: "wt-fb%04d").
# Two domains in five are shut off (<test:runstate>5</test:runstate>), the rest run; memory
# and vCPUs vary so the numbers in the list are not all alike.

BENCH_META_NS="https://wirt.dev/xmlns/vm/1"

bench_fixture_write() {
    local file=${1:?bench_fixture_write: FILE missing}
    local users=${2:?bench_fixture_write: USERS missing}
    local per_user=${3:?bench_fixture_write: PER_USER missing}
    local real_owner=${4:?bench_fixture_write: REAL_OWNER missing}
    local owner_format=${5:-bench-u%03d}

    awk -v users="$users" -v per="$per_user" -v real="$real_owner" -v ns="$BENCH_META_NS" \
        -v ofmt="$owner_format" '
    BEGIN {
        split("256 512 1024 2048", mem, " ")
        print "<node>"
        print "  <cpu><mhz>2000</mhz><model>bench</model><nodes>1</nodes><sockets>1</sockets>" \
              "<cores>64</cores><threads>1</threads></cpu>"
        print "  <memory>4294967296</memory>"
        n = 0
        for (u = 0; u < users; u++) {
            owner = (u == 0) ? real : sprintf(ofmt, u)
            for (v = 0; v < per; v++) {
                name = sprintf("vm-%02d", v)
                printf "  <domain type=\"test\" xmlns:test=\"http://libvirt.org/schemas/domain/test/1.0\">\n"
                printf "    <name>%s.%s</name>\n", owner, name
                printf "    <uuid>6a1e0000-0000-4000-8000-%012d</uuid>\n", n
                printf "    <metadata>\n"
                printf "      <vm xmlns=\"%s\" owner=\"%s\" name=\"%s\" created=\"2025-01-%02dT%02d:%02d:00Z\" created-by=\"%s\" door=\"cli\"/>\n",
                       ns, owner, name, 1 + u % 28, v % 24, n % 60, owner
                printf "    </metadata>\n"
                printf "    <memory unit=\"MiB\">%d</memory>\n", mem[1 + n % 4]
                printf "    <vcpu>%d</vcpu>\n", 1 + n % 2
                printf "    <os><type>hvm</type></os>\n"
                printf "    <on_poweroff>destroy</on_poweroff>\n"
                printf "    <devices/>\n"
                if (n % 5 >= 3)
                    printf "    <test:runstate>5</test:runstate>\n"
                printf "  </domain>\n"
                n++
            }
        }
        print "</node>"
    }' >"$file"
}

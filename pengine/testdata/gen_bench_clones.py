#!/usr/bin/env python3
"""Generates a large clone-heavy CIB for the scheduler speed benchmark.

NODES cluster nodes, CLONES clones of ocf:pacemaker:Dummy (every 10th one
promotable with ocf:pacemaker:Stateful, every 7th with notify=true, every
5th interleaved and ordered after the previous clone), each running on
every node with start/monitor history (promotables promoted on one node),
one fence device, and the last node in standby so every clone has
instances to stop.  Deterministic.  Written for this project.

Usage: python3 gen_bench_clones.py -n 16 -c 500 -o /tmp/clones.xml
"""
import argparse

EMPTY = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
MON = "4811cef7f7f94e3a35a70be7916cb2fd"
NOW = 1700000000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("-c", type=int, default=500)
    ap.add_argument("-o", default="-")
    a = ap.parse_args()
    nodes = ["node%02d" % (i + 1) for i in range(a.n)]
    out = []
    w = out.append
    w('<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="%d">' % NOW)
    w('<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
      '<nvpair id="o-fe" name="stonith-enabled" value="true"/></cluster_property_set></crm_config><nodes>')
    for i, n in enumerate(nodes):
        w('<node id="%d" uname="%s">' % (i + 1, n))
        if i == len(nodes) - 1:
            w('<instance_attributes id="%s-a"><nvpair id="%s-sb" name="standby" value="on"/></instance_attributes>' % (n, n))
        w('</node>')
    w('</nodes><resources>')
    w('<primitive id="fence" class="stonith" type="fence_dummy"><operations><op id="fence-mon" name="monitor" interval="60s"/></operations></primitive>')
    kinds = []
    for c in range(a.c):
        prom = c % 10 == 0
        kinds.append(prom)
        rid = "r%04d" % c
        meta = []
        if prom:
            meta.append(("promotable", "true"))
        if c % 7 == 0:
            meta.append(("notify", "true"))
        if c % 5 == 0:
            meta.append(("interleave", "true"))
        w('<clone id="%s-clone">' % rid)
        if meta:
            w('<meta_attributes id="%s-clone-meta">' % rid + "".join('<nvpair id="%s-clone-%s" name="%s" value="%s"/>' % (rid, k, k, v) for k, v in meta) + '</meta_attributes>')
        typ = "Stateful" if prom else "Dummy"
        w('<primitive id="%s" class="ocf" provider="pacemaker" type="%s"><operations>' % (rid, typ))
        if prom:
            w('<op id="%s-m1" name="monitor" interval="10s" role="Promoted"/><op id="%s-m2" name="monitor" interval="11s" role="Unpromoted"/>' % (rid, rid))
        else:
            w('<op id="%s-m" name="monitor" interval="10s"/>' % rid)
        w('</operations></primitive></clone>')
    w('</resources><constraints>')
    for c in range(5, a.c, 5):
        w('<rsc_order id="o%04d" first="r%04d-clone" then="r%04d-clone"/>' % (c, c - 1, c))
    w('</constraints></configuration><status>')
    for i, n in enumerate(nodes):
        w('<node_state id="%d" uname="%s" in_ccm="true" crmd="online" join="member" expected="member">' % (i + 1, n))
        if i == 0:
            w('<transient_attributes id="%d"><instance_attributes id="st-%d">' % (i + 1, i + 1))
            for c in range(a.c):
                if kinds[c]:
                    w('<nvpair id="st-%d-m%04d" name="master-r%04d" value="10"/>' % (i + 1, c, c))
            w('</instance_attributes></transient_attributes>')
        w('<lrm id="%d"><lrm_resources>' % (i + 1))
        call = 1
        if i == 0:
            w('<lrm_resource id="fence" class="stonith" type="fence_dummy">'
              '<lrm_rsc_op id="fence_last_0" operation_key="fence_start_0" operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="1" rc-code="0" op-status="0" interval="0" last-rc-change="%d" op-digest="%s"/>'
              '</lrm_resource>' % (NOW - 100, EMPTY))
        for c in range(a.c):
            rid = "r%04d" % c
            prom = kinds[c]
            typ = "Stateful" if prom else "Dummy"
            w('<lrm_resource id="%s" class="ocf" provider="pacemaker" type="%s">' % (rid, typ))
            last = "promote" if (prom and i == 0) else "start"
            w('<lrm_rsc_op id="%s_last_0" operation_key="%s_%s_0" operation="%s" transition-key="%d:1:0:x" transition-magic="0:0;%d:1:0:x" call-id="%d" rc-code="0" op-status="0" interval="0" last-rc-change="%d" op-digest="%s"/>'
              % (rid, rid, last, last, call, call, call, NOW - 100, EMPTY))
            iv, rc = (10000, 8) if (prom and i == 0) else ((11000, 0) if prom else (10000, 0))
            w('<lrm_rsc_op id="%s_monitor_%d" operation_key="%s_monitor_%d" operation="monitor" transition-key="%d:1:%d:x" transition-magic="0:%d;%d:1:%d:x" call-id="%d" rc-code="%d" op-status="0" interval="%d" last-rc-change="%d" op-digest="%s"/>'
              % (rid, iv, rid, iv, call + 1, rc, rc, call + 1, rc, call + 1, rc, iv, NOW - 100, MON))
            w('</lrm_resource>')
            call += 2
        w('</lrm_resources></lrm></node_state>')
    w('</status></cib>\n')
    data = "".join(out)
    if a.o == "-":
        print(data, end="")
    else:
        with open(a.o, "w") as f:
            f.write(data)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes Systole's own policy-engine golden scenarios.

Each scenario is pengine/testdata/<name>/cib.xml, built from the compact
descriptions below (written for this project, not copied from elsewhere).
Expected outputs are produced by `GOLDEN_UPDATE=1 go test ./pengine/...`
and reviewed by hand.  Run: python3 pengine/testdata/gen_scenarios.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1700000000  # fixed execution date for every scenario


def nv(pfx, d):
    return "".join('<nvpair id="%s-%s" name="%s" value="%s"/>' % (pfx, k.replace(":", "-"), k, v) for k, v in d.items())


def prim(rid, typ="Dummy", cls="ocf", prov="pacemaker", meta=None, params=None, ops=None, util=None, extra=""):
    x = '<primitive id="%s" class="%s"%s type="%s">' % (rid, cls, ' provider="%s"' % prov if prov else "", typ)
    if meta:
        x += '<meta_attributes id="%s-meta">%s</meta_attributes>' % (rid, nv(rid + "-meta", meta))
    if params:
        x += '<instance_attributes id="%s-params">%s</instance_attributes>' % (rid, nv(rid + "-params", params))
    if util:
        x += '<utilization id="%s-util">%s</utilization>' % (rid, nv(rid + "-util", util))
    if ops is None:
        ops = [("monitor", "10s", {})]
    if ops:
        x += "<operations>"
        for name, iv, attrs in ops:
            a = "".join(' %s="%s"' % kv for kv in attrs.items())
            x += '<op id="%s-%s-%s" name="%s" interval="%s"%s/>' % (rid, name, iv, name, iv, a)
        x += "</operations>"
    return x + extra + "</primitive>"


def group(gid, members, meta=None):
    x = '<group id="%s">' % gid
    if meta:
        x += '<meta_attributes id="%s-meta">%s</meta_attributes>' % (gid, nv(gid + "-meta", meta))
    return x + "".join(members) + "</group>"


def op(rsc, task, interval=0, rc=0, status=0, call=1, expected=None, digest=None, last=NOW - 100, extra=""):
    if digest is None and task != "stop":
        digest = MON if interval else EMPTY
    if expected is None:
        expected = 7 if (task == "monitor" and interval == 0) else 0
    key = "%s_%s_%d" % (rsc, task, interval)
    oid = key if interval else "%s_last_%d" % (rsc, call)
    d = ' op-digest="%s"' % digest if digest else ""
    return ('<lrm_rsc_op id="%s" operation_key="%s" operation="%s" transition-key="%d:1:%d:0000" '
            'transition-magic="%d:%d;%d:1:%d:0000" '
            'call-id="%d" rc-code="%d" op-status="%d" interval="%d" last-rc-change="%d"%s%s/>'
            % (oid, key, task, call, expected, status, rc, call, expected, call, rc, status, interval, last, d, extra))


EMPTY = "f2317cad3d54cec5d7d7aa7d0bf35cf8"   # digest of no parameters
MON = "4811cef7f7f94e3a35a70be7916cb2fd"     # ... plus CRM_meta_timeout=20000


def running(rsc, call=10, monitor=10000, typ="Dummy"):
    ops = [op(rsc, "start", call=call, digest=EMPTY)]
    if monitor:
        ops.append(op(rsc, "monitor", monitor, call=call + 1, digest=MON))
    return lrm(rsc, ops, typ=typ)


def stopped(rsc, call=1, typ="Dummy"):
    return lrm(rsc, [op(rsc, "monitor", 0, rc=7, call=call, digest=EMPTY)], typ=typ)


def lrm(rsc, ops, typ="Dummy", cls="ocf", prov="pacemaker"):
    if typ.startswith("fence_"):
        return '<lrm_resource id="%s" class="stonith" type="%s">%s</lrm_resource>' % (rsc, typ, "".join(ops))
    return '<lrm_resource id="%s" class="%s" provider="%s" type="%s">%s</lrm_resource>' % (rsc, cls, prov, typ, "".join(ops))


def node_state(n, hist="", attrs=None, state="up"):
    nid = n
    if state == "up":
        s = 'in_ccm="true" crmd="online" join="member" expected="member"'
    elif state == "down":
        s = 'in_ccm="false" crmd="offline" join="down" expected="down"'
    elif state == "lost":
        s = 'in_ccm="false" crmd="offline" join="down" expected="member"'
    elif state == "pending":
        s = 'in_ccm="true" crmd="online" join="pending" expected="member"'
    x = '<node_state id="%s" uname="%s" %s>' % (nid, n, s)
    if attrs:
        x += ('<transient_attributes id="%s"><instance_attributes id="status-%s">%s</instance_attributes>'
              '</transient_attributes>' % (nid, nid, nv("status-" + nid, attrs)))
    x += '<lrm id="%s"><lrm_resources>%s</lrm_resources></lrm>' % (nid, hist)
    return x + "</node_state>"


def cib(nodes, resources, constraints="", status=None, opts=None, quorum=True, node_attrs=None,
        node_util=None, rsc_defaults=None, op_defaults=None, extra_conf="", fencing=False, tags=""):
    o = {"fencing-enabled": "true" if fencing else "false"}
    o.update(opts or {})
    x = '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0" have-quorum="%d" dc-uuid="%s" execution-date="%d">' % (1 if quorum else 0, nodes[0], NOW)
    x += '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">%s</cluster_property_set></crm_config>' % nv("opt", o)
    x += "<nodes>"
    for n in nodes:
        x += '<node id="%s" uname="%s">' % (n, n)
        if node_attrs and n in node_attrs:
            x += '<instance_attributes id="%s-attrs">%s</instance_attributes>' % (n, nv(n + "-attr", node_attrs[n]))
        if node_util and n in node_util:
            x += '<utilization id="%s-util">%s</utilization>' % (n, nv(n + "-util", node_util[n]))
        x += "</node>"
    x += "</nodes><resources>%s</resources><constraints>%s</constraints>" % ("".join(resources), constraints)
    if rsc_defaults:
        x += '<rsc_defaults><meta_attributes id="rsc-defaults">%s</meta_attributes></rsc_defaults>' % nv("rscdef", rsc_defaults)
    if op_defaults:
        x += '<op_defaults><meta_attributes id="op-defaults">%s</meta_attributes></op_defaults>' % nv("opdef", op_defaults)
    x += extra_conf + tags + "</configuration><status>"
    if status is None:
        status = {n: "" for n in nodes}
    for n, v in status.items():
        if isinstance(v, tuple):
            x += node_state(n, *v)
        else:
            x += node_state(n, v)
    return x + "</status></cib>\n"


N2 = ["node1", "node2"]
N3 = ["node1", "node2", "node3"]
S = {}  # name -> xml
F = prim("fencer", typ="fence_dummy", cls="stonith", prov=None, ops=[("monitor", "60s", {})])


def both(r, where="node1", nodes=N2, others=None):
    """Status: r running on `where`, probed stopped elsewhere."""
    st = {}
    for n in nodes:
        st[n] = running(r) if n == where else stopped(r)
    return st


S["start-basic"] = cib(N2, [prim("web")])
S["start-two-spread"] = cib(N2, [prim("a"), prim("b")])
S["stickiness-stays"] = cib(N2, [prim("web", meta={"resource-stickiness": "100"})],
                            '<rsc_location id="l1" rsc="web" node="node1" score="50"/>', both("web", "node2"))
S["location-prefer-moves"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node2" score="100"/>', both("web"))
S["location-ban"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node1" score="-INFINITY"/>', both("web"))
S["location-rule-attr"] = cib(N3, [prim("db")], '<rsc_location id="l1" rsc="db"><rule id="r1" score="200"><expression id="e1" attribute="disk" operation="gte" value="100"/></rule></rsc_location>',
                              node_attrs={"node1": {"disk": "50"}, "node2": {"disk": "150"}, "node3": {"disk": "99"}})
S["location-rule-uname-or"] = cib(N3, [prim("db")], '<rsc_location id="l1" rsc="db"><rule id="r1" score="-INFINITY" boolean-op="or"><expression id="e1" attribute="#uname" operation="eq" value="node1"/><expression id="e2" attribute="#uname" operation="eq" value="node2"/></rule></rsc_location>')
S["location-score-attribute"] = cib(N3, [prim("db")], '<rsc_location id="l1" rsc="db"><rule id="r1" score-attribute="pref"><expression id="e1" attribute="pref" operation="defined"/></rule></rsc_location>',
                                    node_attrs={"node1": {"pref": "10"}, "node3": {"pref": "30"}})
S["location-date-in-range"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web"><rule id="r1" score="500"><date_expression id="d1" operation="in_range" start="2023-11-01" end="2023-12-01"/><expression id="e1" attribute="#uname" operation="eq" value="node2"/></rule></rsc_location>')
S["location-date-spec-weekday"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web"><rule id="r1" score="500"><date_expression id="d1" operation="date_spec"><date_spec id="ds1" weekdays="1-5" hours="0-23"/></date_expression><expression id="e1" attribute="#uname" operation="eq" value="node2"/></rule></rsc_location>')
S["location-date-expired"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web"><rule id="r1" score="500"><date_expression id="d1" operation="lt" end="2020-01-01"/><expression id="e1" attribute="#uname" operation="eq" value="node2"/></rule></rsc_location>')
S["discovery-never"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node2" score="0" resource-discovery="never"/>')
S["discovery-exclusive"] = cib(N3, [prim("web")], '<rsc_location id="l1" rsc="web" node="node2" score="0" resource-discovery="exclusive"/>')
S["asymmetric-opt-in"] = cib(N3, [prim("web"), prim("other")], '<rsc_location id="l1" rsc="web" node="node3" score="0"/>', opts={"symmetric-cluster": "false"})
S["colocation-inf"] = cib(N2, [prim("ip"), prim("web")], '<rsc_colocation id="c1" rsc="web" with-rsc="ip" score="INFINITY"/><rsc_location id="l1" rsc="ip" node="node2" score="10"/>')
S["colocation-neg-inf"] = cib(N2, [prim("a"), prim("b")], '<rsc_colocation id="c1" rsc="b" with-rsc="a" score="-INFINITY"/>', both("a", "node1"))
S["colocation-finite"] = cib(N3, [prim("a"), prim("b")], '<rsc_colocation id="c1" rsc="b" with-rsc="a" score="50"/><rsc_location id="l1" rsc="b" node="node3" score="20"/>')
S["colocation-primary-stopped"] = cib(N2, [prim("a", meta={"target-role": "Stopped"}), prim("b")], '<rsc_colocation id="c1" rsc="b" with-rsc="a" score="INFINITY"/>')
S["colocation-node-attribute"] = cib(["node1", "node2", "node3", "node4"], [prim("a"), prim("b")], '<rsc_colocation id="c1" rsc="b" with-rsc="a" score="INFINITY" node-attribute="site"/><rsc_location id="l1" rsc="a" node="node1" score="100"/><rsc_location id="l2" rsc="b" node="node1" score="-INFINITY"/>',
                                     node_attrs={"node1": {"site": "x"}, "node2": {"site": "x"}, "node3": {"site": "y"}, "node4": {"site": "y"}})
S["colocation-set"] = cib(N3, [prim("a"), prim("b"), prim("c")], '<rsc_colocation id="c1" score="INFINITY"><resource_set id="s1"><resource_ref id="a"/><resource_ref id="b"/><resource_ref id="c"/></resource_set></rsc_colocation><rsc_location id="l1" rsc="a" node="node3" score="10"/>')
S["colocation-dependent-pulls"] = cib(N2, [prim("a"), prim("b")], '<rsc_colocation id="c1" rsc="b" with-rsc="a" score="INFINITY"/><rsc_location id="l1" rsc="b" node="node2" score="100"/>')
S["order-mandatory-blocked"] = cib(N2, [prim("a", meta={"target-role": "Stopped"}), prim("b")], '<rsc_order id="o1" first="a" then="b" kind="Mandatory"/>')
S["order-mandatory-restart"] = cib(N2, [prim("a", params={"p": "2"}), prim("b")], '<rsc_order id="o1" first="a" then="b"/><rsc_colocation id="c1" rsc="b" with-rsc="a" score="INFINITY"/>',
                                   {"node1": running("a", 10, 0) + running("b", 20, 0), "node2": stopped("a") + stopped("b", 2)})
S["order-optional"] = cib(N2, [prim("a", meta={"target-role": "Stopped"}), prim("b")], '<rsc_order id="o1" first="a" then="b" kind="Optional"/>')
S["order-asymmetric"] = cib(N2, [prim("a", meta={"target-role": "Stopped"}), prim("b")], '<rsc_order id="o1" first="a" then="b" symmetrical="false"/>', both("a"))
S["order-serialize"] = cib(N2, [prim("a"), prim("b")], '<rsc_order id="o1" first="a" then="b" kind="Serialize"/>')
S["order-set-sequential"] = cib(N2, [prim("a"), prim("b"), prim("c")], '<rsc_order id="o1"><resource_set id="s1"><resource_ref id="a"/><resource_ref id="b"/><resource_ref id="c"/></resource_set></rsc_order>')
S["order-set-require-any"] = cib(N2, [prim("a", meta={"target-role": "Stopped"}), prim("b"), prim("c")], '<rsc_order id="o1"><resource_set id="s1" sequential="false" require-all="false"><resource_ref id="a"/><resource_ref id="b"/></resource_set><resource_set id="s2"><resource_ref id="c"/></resource_set></rsc_order>')
S["order-first-then-actions"] = cib(N2, [prim("a"), prim("b")], '<rsc_order id="o1" first="a" first-action="stop" then="b" then-action="start"/>')
S["group-start"] = cib(N2, [group("g", [prim("g1"), prim("g2"), prim("g3")])])
S["group-move"] = cib(N2, [group("g", [prim("g1"), prim("g2")])], '<rsc_location id="l1" rsc="g" node="node2" score="100"/>',
                      {"node1": running("g1", 10) + running("g2", 20), "node2": stopped("g1") + stopped("g2", 2)})
S["group-stickiness-sum"] = cib(N2, [group("g", [prim("g1"), prim("g2")], meta={"resource-stickiness": "60"})], '<rsc_location id="l1" rsc="g" node="node2" score="100"/>',
                                {"node1": running("g1", 10) + running("g2", 20), "node2": stopped("g1") + stopped("g2", 2)})
S["group-member-banned"] = cib(N2, [group("g", [prim("g1"), prim("g2"), prim("g3")])], '<rsc_location id="l1" rsc="g2" node="node1" score="-INFINITY"/><rsc_location id="l2" rsc="g2" node="node2" score="-INFINITY"/>')
S["group-colocated-with"] = cib(N3, [prim("ip"), group("g", [prim("g1"), prim("g2")])], '<rsc_colocation id="c1" rsc="g" with-rsc="ip" score="INFINITY"/><rsc_location id="l1" rsc="ip" node="node3" score="10"/>')
S["target-role-stopped"] = cib(N2, [prim("web", meta={"target-role": "Stopped"})], "", both("web"))
S["target-role-stopped-group"] = cib(N2, [group("g", [prim("g1"), prim("g2")], meta={"target-role": "Stopped"})], "",
                                     {"node1": running("g1", 10) + running("g2", 20), "node2": stopped("g1") + stopped("g2", 2)})
S["unmanaged-stays"] = cib(N2, [prim("web", meta={"is-managed": "false"})], '<rsc_location id="l1" rsc="web" node="node2" score="100"/>', both("web"))
S["maintenance-mode"] = cib(N2, [prim("web"), prim("new")], '<rsc_location id="l1" rsc="web" node="node2" score="100"/>', both("web"), opts={"maintenance-mode": "true"})
S["rsc-maintenance"] = cib(N2, [prim("web", meta={"maintenance": "true"})], "", both("web"))
S["node-standby"] = cib(N2, [prim("web")], "", both("web"), node_attrs={"node1": {"standby": "on"}})
S["node-lost-fenced"] = cib(N3, [F, prim("web")], "", {"node1": running("fencer", 5, 60000, typ="fence_dummy") + stopped("web", 2), "node2": stopped("fencer", typ="fence_dummy") + stopped("web", 2), "node3": (running("web"), None, "lost")}, fencing=True)
S["node-unseen-startup-fencing"] = cib(N3, [F, prim("web")], "", {"node1": stopped("fencer", typ="fence_dummy") + stopped("web", 2), "node2": stopped("fencer", typ="fence_dummy") + stopped("web", 2)}, fencing=True)
S["fencing-without-device"] = cib(N2, [prim("web")], "", both("web"), fencing=True)
S["no-fencing-node-down"] = cib(N2, [prim("web")], "", {"node1": ("", None, "down"), "node2": stopped("web")})
S["no-quorum-stop"] = cib(N3, [prim("web"), prim("other")], "", {"node1": running("web") + stopped("other", 2)}, quorum=False)
S["no-quorum-freeze"] = cib(N3, [prim("web"), prim("other")], "", {"node1": running("web") + stopped("other", 2)}, quorum=False, opts={"no-quorum-policy": "freeze"})
S["no-quorum-ignore"] = cib(N3, [prim("web"), prim("other")], "", {"node1": running("web") + stopped("other", 2)}, quorum=False, opts={"no-quorum-policy": "ignore"})
S["stop-all-resources"] = cib(N2, [prim("web"), prim("db")], "", both("web"), opts={"stop-all-resources": "true"})
S["failed-monitor-recover"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=7, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")},
                                  )
S["failcount-threshold-moves"] = cib(N2, [prim("web", meta={"migration-threshold": "2"})], "", {"node1": (lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=7, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), {"fail-count-web#monitor_10000": "2", "last-failure-web#monitor_10000": str(NOW - 50)}), "node2": stopped("web")})
S["failure-timeout-expired"] = cib(N2, [prim("web", meta={"failure-timeout": "60s", "migration-threshold": "1"})], "", {"node1": (lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=7, call=11, last=NOW - 600, digest="4811cef7f7f94e3a35a70be7916cb2fd"), op("web", "stop", call=12), op("web", "start", call=13)]), {"fail-count-web#monitor_10000": "1", "last-failure-web#monitor_10000": str(NOW - 600)}), "node2": stopped("web")})
S["on-fail-ignore"] = cib(N2, [prim("web", ops=[("monitor", "10s", {"on-fail": "ignore"})])], "", {"node1": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=1, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")})
S["on-fail-stop"] = cib(N2, [prim("web", ops=[("monitor", "10s", {"on-fail": "stop"})])], "", {"node1": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=1, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")})
S["on-fail-block"] = cib(N2, [prim("web", ops=[("monitor", "10s", {"on-fail": "block"})])], "", {"node1": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=1, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")})
S["on-fail-standby"] = cib(N2, [prim("web", ops=[("monitor", "10s", {"on-fail": "standby"})]), prim("db")], "", {"node1": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=1, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]) + running("db", 20), "node2": stopped("web") + stopped("db", 2)})
S["on-fail-fence"] = cib(N2, [F, prim("web", ops=[("monitor", "10s", {"on-fail": "fence"})])], "", {"node1": running("fencer", 5, 60000, typ="fence_dummy") + stopped("web", 2), "node2": lrm("web", [op("web", "start", call=10), op("web", "monitor", 10000, rc=1, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]) + stopped("fencer", typ="fence_dummy")}, fencing=True)
S["failed-stop-fences"] = cib(N2, [F, prim("web")], '<rsc_location id="l1" rsc="web" node="node1" score="-INFINITY"/>', {"node1": lrm("web", [op("web", "start", call=10), op("web", "stop", rc=1, call=12)]) + stopped("fencer", typ="fence_dummy"), "node2": running("fencer", 5, 60000, typ="fence_dummy") + stopped("web", 2)}, fencing=True)
S["failed-stop-blocks"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node1" score="-INFINITY"/>', {"node1": lrm("web", [op("web", "start", call=10), op("web", "stop", rc=1, call=12)]), "node2": stopped("web", 2)})
S["probe-found-running"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "monitor", 0, rc=0, call=3)]), "node2": stopped("web")})
S["probe-not-installed"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "monitor", 0, rc=5, call=3)]), "node2": stopped("web")})
S["fatal-error-everywhere"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "start", rc=6, call=3)]), "node2": stopped("web")})
S["start-failed-recover"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node1" score="100"/>', {"node1": lrm("web", [op("web", "start", rc=1, call=3)]), "node2": stopped("web")})
S["monitor-removed-cancel"] = cib(N2, [prim("web", ops=[])], "", both("web"))
S["monitor-interval-changed"] = cib(N2, [prim("web", ops=[("monitor", "20s", {})])], "", both("web"))
S["digest-change-restart"] = cib(N2, [prim("web", params={"port": "8080"})], "", {"node1": lrm("web", [op("web", "start", call=10, digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"), op("web", "monitor", 10000, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")})
S["digest-unchanged"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "start", call=10, digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"), op("web", "monitor", 10000, call=11, digest="4811cef7f7f94e3a35a70be7916cb2fd")]), "node2": stopped("web")})
S["orphan-stopped"] = cib(N2, [prim("web")], "", {"node1": running("web") + running("gone", 30), "node2": stopped("web") + stopped("gone", 3)})
S["multiply-active-restart"] = cib(N2, [prim("web")], "", {"node1": running("web"), "node2": running("web", 40)})
S["multiply-active-block"] = cib(N2, [prim("web", meta={"multiple-active": "block"})], "", {"node1": running("web"), "node2": running("web", 40)})
S["utilization-capacity"] = cib(N2, [prim("big", util={"mem": "800"}), prim("med", util={"mem": "500"}), prim("small", util={"mem": "300"})], "",
                                opts={"placement-strategy": "utilization"}, node_util={"node1": {"mem": "1000"}, "node2": {"mem": "1000"}})
S["utilization-balanced"] = cib(N2, [prim("a", util={"cpu": "2"}), prim("b", util={"cpu": "1"}), prim("c", util={"cpu": "1"})], "",
                                opts={"placement-strategy": "balanced"}, node_util={"node1": {"cpu": "4"}, "node2": {"cpu": "2"}})
S["utilization-no-room"] = cib(N2, [prim("huge", util={"mem": "5000"})], "", opts={"placement-strategy": "minimal"}, node_util={"node1": {"mem": "1000"}, "node2": {"mem": "1000"}})
S["rsc-defaults-stickiness"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node2" score="50"/>', both("web"), rsc_defaults={"resource-stickiness": "100"})
S["op-defaults-timeout"] = cib(N2, [prim("web")], "", op_defaults={"timeout": "45s"})
S["template-primitive"] = cib(N2, ['<template id="tmpl" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="tmpl-mon" name="monitor" interval="15s"/></operations></template>',
                                   '<primitive id="web" template="tmpl"/>'], '<rsc_location id="l1" rsc="tmpl" node="node2" score="100"/>')
S["id-ref-meta"] = cib(N2, [prim("a", meta={"resource-stickiness": "1000"}), '<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id-ref="a-meta"/></primitive>'],
                       '<rsc_location id="l1" rsc="a" node="node2" score="100"/><rsc_location id="l2" rsc="b" node="node2" score="100"/>', {"node1": running("a") + running("b", 20, 0), "node2": stopped("a") + stopped("b", 2)})
S["allow-migrate-moves"] = cib(N2, [prim("vm", meta={"allow-migrate": "true"})], '<rsc_location id="l1" rsc="vm" node="node2" score="100"/>', both("vm"))
S["priority-wins-capacity"] = cib(["node1"], [prim("low", util={"slot": "1"}), prim("high", meta={"priority": "10"}, util={"slot": "1"})], "",
                                  opts={"placement-strategy": "utilization"}, node_util={"node1": {"slot": "1"}})
S["node-shutdown"] = cib(N2, [prim("web")], "", {"node1": (running("web"), {"shutdown": str(NOW - 5)}), "node2": stopped("web")})
S["node-pending"] = cib(N2, [prim("web")], "", {"node1": ("", None, "pending"), "node2": stopped("web")})
S["batch-limit-option"] = cib(N2, [prim("a"), prim("b")], "", opts={"batch-limit": "3", "cluster-delay": "90s"})
S["tag-in-constraint"] = cib(N3, [prim("a"), prim("b")], '<rsc_location id="l1" rsc="webs" node="node3" score="100"/>', tags='<tags><tag id="webs"><obj_ref id="a"/><obj_ref id="b"/></tag></tags>')
S["pending-start"] = cib(N2, [prim("web")], "", {"node1": lrm("web", [op("web", "start", call=-1, status=-1)]), "node2": stopped("web")})
S["rsc-pattern-location"] = cib(N2, [prim("web-1"), prim("web-2"), prim("db")], '<rsc_location id="l1" rsc-pattern="^web-" node="node2" score="100"/>')
S["role-stopped-monitor"] = cib(N2, [prim("web", ops=[("monitor", "10s", {}), ("monitor", "30s", {"role": "Stopped"})])], '<rsc_location id="l1" rsc="web" node="node1" score="100"/>')
S["clone-basic"] = cib(N3, ['<clone id="web-clone">' + prim("web") + "</clone>"])


# Tier 2: clones (interleave, clone-min, cloned groups, early assignment),
# promotable clones with on-fail=demote.
def clone(cid, child, meta=None):
    x = '<clone id="%s">' % cid
    if meta:
        x += '<meta_attributes id="%s-meta">%s</meta_attributes>' % (cid, nv(cid + "-meta", meta))
    return x + child + "</clone>"


S["clone-interleave-unpaired-stops"] = cib(N2, [clone("a-clone", prim("a"), {"interleave": "true"}), clone("b-clone", prim("b"), {"interleave": "true"})],
                                           '<rsc_order id="o1" first="a-clone" then="b-clone"/><rsc_location id="l1" rsc="a-clone" node="node1" score="-INFINITY"/>',
                                           {"node1": running("a", 10) + running("b", 20), "node2": running("a", 10) + running("b", 20)})
S["clone-min-blocks-then"] = cib(N3, [clone("a-clone", prim("a"), {"clone-min": "2"}), prim("b")],
                                 '<rsc_order id="o1" first="a-clone" then="b"/><rsc_location id="l1" rsc="a-clone" node="node2" score="-INFINITY"/><rsc_location id="l2" rsc="a-clone" node="node3" score="-INFINITY"/>',
                                 {"node1": running("a", 10) + stopped("b", 2), "node2": stopped("a") + stopped("b", 2), "node3": stopped("a") + stopped("b", 2)})
S["clone-min-satisfied"] = cib(N3, [clone("a-clone", prim("a"), {"clone-min": "2"}), prim("b")],
                               '<rsc_order id="o1" first="a-clone" then="b"/><rsc_location id="l1" rsc="a-clone" node="node3" score="-INFINITY"/>',
                               {"node1": running("a", 10) + stopped("b", 2), "node2": stopped("a") + stopped("b", 2), "node3": stopped("a") + stopped("b", 2)})
S["cloned-group-node-max"] = cib(N2, [clone("g-clone", group("g", [prim("g1"), prim("g2")]), {"clone-max": "2", "clone-node-max": "1"})], "",
                                 {"node1": running("g1", 10) + running("g2", 20), "node2": running("g1", 10) + running("g2", 20)},
                                 node_attrs={"node2": {"standby": "on"}})
S["clone-max-one-moves"] = cib(N2, [clone("c", prim("w"), {"clone-max": "1", "resource-stickiness": "0"})],
                               '<rsc_location id="l1" rsc="c" node="node2" score="INFINITY"/>',
                               {"node1": running("w"), "node2": ""})
S["clone-unique-rebalance"] = cib(N2, [clone("c", prim("p"), {"globally-unique": "true", "clone-max": "2", "clone-node-max": "2", "resource-stickiness": "0"})], "",
                                  {"node1": lrm("p:0", [op("p:0", "start", call=10, digest=EMPTY)]) + lrm("p:1", [op("p:1", "start", call=11, digest=EMPTY)]),
                                   "node2": lrm("p:0", [op("p:0", "monitor", 0, rc=7, call=1, digest=EMPTY)]) + lrm("p:1", [op("p:1", "monitor", 0, rc=7, call=2, digest=EMPTY)])})
S["promotable-on-fail-demote"] = cib(N2, [clone("s-clone", prim("s", typ="Stateful", ops=[("monitor", "10s", {"role": "Promoted", "on-fail": "demote"}), ("monitor", "11s", {"role": "Unpromoted"})]), {"promotable": "true"})],
                                     '<rsc_location id="l1" rsc="s-clone"><rule id="r1" role="Promoted" score="-INFINITY"><expression id="e1" attribute="fail-count-s#monitor_10000" operation="gt" value="0"/></rule></rsc_location>',
                                     {"node1": (lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "promote", call=12, digest=EMPTY), op("s", "monitor", 10000, rc=1, expected=8, call=13)], typ="Stateful"),
                                                {"master-s": "10", "fail-count-s#monitor_10000": "1", "last-failure-s#monitor_10000": str(NOW - 50)}),
                                      "node2": (lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "monitor", 11000, call=11)], typ="Stateful"), {"master-s": "5"})})

PROMO = {"promotable": "true"}
STF_OPS = [("monitor", "10s", {"role": "Promoted"}), ("monitor", "11s", {"role": "Unpromoted"})]
S["promotable-unique-order"] = cib(["node0", "node1", "node2"], [prim("solo"), clone("p", prim("pc", typ="Stateful", ops=[]), {"promotable": "true", "globally-unique": "true", "clone-max": "2"})],
                                   '<rsc_colocation id="c1" rsc="solo" with-rsc="p" with-rsc-role="Promoted" score="INFINITY"/>'
                                   '<rsc_location id="l1" rsc="p" node="node0" score="-INFINITY"/>',
                                   node_attrs={"node1": {"master-pc:0": "10", "master-pc:1": "100"}, "node2": {"master-pc:0": "30", "master-pc:1": "300"}})
S["promotable-with-stopped-group"] = cib(N2, [group("g", [prim("g1"), prim("g2")], meta={"target-role": "Stopped"}), clone("s-clone", prim("s", typ="Stateful", ops=STF_OPS), PROMO)],
                                         '<rsc_colocation id="c1" rsc="s-clone" rsc-role="Promoted" with-rsc="g" score="INFINITY"/>',
                                         {"node1": (lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "promote", call=12, digest=EMPTY), op("s", "monitor", 10000, rc=8, expected=8, call=13)], typ="Stateful") + stopped("g1", 2) + stopped("g2", 3), {"master-s": "10"}),
                                          "node2": (lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "monitor", 11000, call=11)], typ="Stateful") + stopped("g1", 2) + stopped("g2", 3), {"master-s": "5"})})
S["promotable-no-quorum-freeze"] = cib(N3, [clone("s-clone", prim("s", typ="Stateful", ops=STF_OPS), PROMO)], "",
                                       {"node3": (lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "monitor", 11000, call=11)], typ="Stateful"), {"master-s": "5"})},
                                       quorum=False, opts={"no-quorum-policy": "freeze"})
S["promotable-coloc-node-attribute"] = cib(["node1", "node2", "node3", "node4"],
                                           [clone("a-clone", prim("a", typ="Stateful", ops=[]), {"promotable": "true", "promoted-max": "1"}),
                                            clone("b-clone", prim("b", typ="Stateful", ops=[]), {"promotable": "true", "promoted-max": "2"})],
                                           '<rsc_colocation id="c1" rsc="b-clone" rsc-role="Promoted" with-rsc="a-clone" with-rsc-role="Promoted" node-attribute="site" score="INFINITY"/>',
                                           {n: (lrm("a", [op("a", "start", call=10, digest=EMPTY)] + ([op("a", "promote", call=12, digest=EMPTY)] if n == "node1" else []), typ="Stateful")
                                                + lrm("b", [op("b", "start", call=20, digest=EMPTY)] + ([op("b", "promote", call=22, digest=EMPTY)] if n == "node3" else []), typ="Stateful"),
                                                {"master-a": "10" if n == "node1" else "5", "master-b": "10" if n == "node3" else "5"})
                                            for n in ["node1", "node2", "node3", "node4"]},
                                           node_attrs={"node1": {"site": "A"}, "node2": {"site": "A"}, "node3": {"site": "B"}, "node4": {"site": "B"}})
S["migrate-from-failed-recovers"] = cib(N2, [prim("vm", meta={"allow-migrate": "true"}), ],
                                        '<rsc_location id="l1" rsc="vm" node="node2" score="100"/>',
                                        {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=16, digest=EMPTY),
                                                             op("vm", "migrate_to", call=17, digest=EMPTY, extra=' migrate_source="node1" migrate_target="node2"')]),
                                         "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY),
                                                             op("vm", "migrate_from", rc=1, call=3, digest=EMPTY, extra=' migrate_source="node1" migrate_target="node2"'),
                                                             op("vm", "stop", call=18)])})
S["cloned-group-clone-ordered-meta"] = cib(N2, [clone("g-clone", group("g", [prim("g1"), prim("g2")]), {"ordered": "false", "interleave": "false"})], "",
                                           {"node1": running("g1", 10) + stopped("g2", 2), "node2": running("g1", 10) + stopped("g2", 2)})

S["clone-notify-lists"] = cib(N3, [clone("n-clone", prim("n", typ="Stateful", ops=STF_OPS), {"promotable": "true", "notify": "true"})],
                              '<rsc_location id="l1" rsc="n-clone" node="node3" score="-INFINITY"/>',
                              {"node1": (lrm("n", [op("n", "start", call=10, digest=EMPTY), op("n", "promote", call=12, digest=EMPTY)], typ="Stateful"), {"master-n": "10"}),
                               "node2": (stopped("n", typ="Stateful"), {"master-n": "5"}),
                               "node3": lrm("n", [op("n", "start", call=10, digest=EMPTY)], typ="Stateful")})

S["clone-blocked-instance-dependent-stops"] = cib(N2, [prim("svc"), clone("t-clone", prim("t", ops=[("monitor", "10s", {"on-fail": "block"})]))],
                                                  '<rsc_colocation id="c1" rsc="svc" with-rsc="t-clone" score="INFINITY"/><rsc_location id="l1" rsc="t-clone" node="node2" score="-INFINITY"/>',
                                                  {"node1": running("svc", 30) + lrm("t", [op("t", "start", call=10), op("t", "monitor", 10000, rc=1, call=11)]),
                                                   "node2": stopped("svc", 2) + stopped("t")})

S["clone-role-ignored-not-promotable"] = cib(N2, [prim("ip"), clone("h-clone", prim("h"))],
                                             '<rsc_colocation id="c1" rsc="ip" with-rsc="h-clone" with-rsc-role="Promoted" score="INFINITY"/>',
                                             {"node1": running("ip", 30) + running("h"), "node2": stopped("ip", 2) + running("h")})


# priority-fencing-delay (Pacemaker 2.1's node_priority_fencing_delay): a
# lost node's fencing carries the delay when it has the top node priority
# (sum of the priority meta of its active resources, +1 if promoted), no
# more than half the members are online and priorities differ; else 0.
PFD = {"priority-fencing-delay": "15s"}
FON = running("fencer", 5, 60000, typ="fence_dummy")
S["priority-fencing-delay-lost-top"] = cib(N2, [F, prim("vip", meta={"priority": "10"}), prim("low")], "",
                                           {"node1": FON + stopped("vip", 2) + running("low", 20),
                                            "node2": (stopped("fencer", typ="fence_dummy") + running("vip", 30) + stopped("low", 3), None, "lost")},
                                           fencing=True, opts=PFD)
S["priority-fencing-delay-lost-low"] = cib(N2, [F, prim("vip", meta={"priority": "10"}), prim("low")], "",
                                           {"node1": FON + running("vip", 30) + stopped("low", 3),
                                            "node2": (stopped("fencer", typ="fence_dummy") + stopped("vip", 2) + running("low", 20), None, "lost")},
                                           fencing=True, opts=PFD)
S["priority-fencing-delay-promoted"] = cib(N2, [F, clone("s-clone", prim("s", typ="Stateful", ops=STF_OPS), {"promotable": "true", "priority": "5"})], "",
                                           {"node1": (FON + lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "monitor", 11000, call=11)], typ="Stateful"), {"master-s": "5"}),
                                            "node2": (stopped("fencer", typ="fence_dummy") + lrm("s", [op("s", "start", call=10, digest=EMPTY), op("s", "promote", call=12, digest=EMPTY), op("s", "monitor", 10000, rc=8, expected=8, call=13)], typ="Stateful"), None, "lost")},
                                           fencing=True, opts=PFD)
S["priority-fencing-delay-majority"] = cib(N3, [F, prim("vip", meta={"priority": "10"})], "",
                                           {"node1": FON + stopped("vip", 2), "node2": stopped("fencer", typ="fence_dummy") + stopped("vip", 2),
                                            "node3": (stopped("fencer", typ="fence_dummy") + running("vip", 30), None, "lost")},
                                           fencing=True, opts=PFD)


# Live migrations in the history (Pacemaker 2.1.5's unpack_migrate_to_success
# and friends): partial (migrate_to done, no migrate_from), dangling
# (migrate_from done, source not stopped), failed migrate_to, a pending
# source stop, a partial migration whose target is no longer chosen, and a
# pending migrate_to on a lost node.
VM = prim("vm", meta={"allow-migrate": "true"})
MIG = ' migrate_source="node1" migrate_target="node2"'
PREF2 = '<rsc_location id="l1" rsc="vm" node="node2" score="100"/>'
S["migrate-partial-continue"] = cib(N2, [VM], PREF2,
                                    {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                         op("vm", "migrate_to", call=12, digest=EMPTY, extra=MIG)]),
                                     "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)])})
S["migrate-partial-new-target"] = cib(N3, [VM], '<rsc_location id="l1" rsc="vm" node="node3" score="100"/>',
                                      {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                           op("vm", "migrate_to", call=12, digest=EMPTY, extra=MIG)]),
                                       "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)]),
                                       "node3": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)])})
S["migrate-dangling-stops-source"] = cib(N2, [VM], PREF2,
                                         {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                              op("vm", "migrate_to", call=12, digest=EMPTY, extra=MIG)]),
                                          "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200),
                                                              op("vm", "migrate_from", call=3, digest=EMPTY, last=NOW - 50, extra=MIG)])})
S["migrate-to-failed"] = cib(N2, [VM], PREF2,
                             {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                  op("vm", "migrate_to", rc=1, call=12, digest=EMPTY, extra=MIG)]),
                              "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)])})
S["migrate-source-stop-pending"] = cib(N2, [VM], PREF2,
                                       {"node1": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                            op("vm", "migrate_to", call=12, digest=EMPTY, extra=MIG),
                                                            op("vm", "stop", rc=193, status=-1, call=-1, last=NOW - 10, extra=MIG)]),
                                        "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200),
                                                            op("vm", "migrate_from", call=3, digest=EMPTY, last=NOW - 50, extra=MIG)])})
S["migrate-pending-on-lost-node"] = cib(N3, [F, VM], PREF2,
                                        {"node1": (lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY), op("vm", "start", call=10, digest=EMPTY),
                                                              op("vm", "migrate_to", rc=193, status=-1, call=-1, digest=EMPTY, extra=MIG)])
                                                   + stopped("fencer", typ="fence_dummy"), None, "lost"),
                                         "node2": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)]) + stopped("fencer", typ="fence_dummy"),
                                         "node3": lrm("vm", [op("vm", "monitor", 0, rc=7, call=2, digest=EMPTY, last=NOW - 200)]) + FON},
                                        fencing=True)
S["migrate-after-clone-stop"] = cib(N2, [clone("base-clone", prim("base")), VM],
                                    '<rsc_order id="o1" first="base-clone" then="vm"/><rsc_colocation id="c1" rsc="vm" with-rsc="base-clone" score="INFINITY"/>',
                                    {"node1": running("base", 10) + stopped("vm", 2), "node2": running("base", 10) + running("vm", 20)},
                                    node_attrs={"node2": {"standby": "on"}})
S["migrate-group-member-unmigratable"] = cib(N2, [group("g", [prim("a", meta={"allow-migrate": "true"}), prim("b"), prim("c", meta={"allow-migrate": "true"})])],
                                             '<rsc_location id="l1" rsc="g" node="node2" score="100"/>',
                                             {"node1": running("a", 10) + running("b", 20) + running("c", 30), "node2": stopped("a") + stopped("b", 2) + stopped("c", 3)})
# A history entry with a call id but op-status -1 sorts by its call id
# (Pacemaker's pe__is_newer_op treats only call-id -1 as pending): the
# later stop wins, the start is still shown pending.
S["pending-start-before-stop"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node2" score="10"/>',
                                     {"node1": lrm("web", [op("web", "start", rc=193, status=-1, call=3), op("web", "stop", call=9)]), "node2": stopped("web")})
# History cleanup (Pacemaker's check_actions_for): an orphaned instance of a
# configured anonymous clone keeps its history; a resource whose agent
# changed has its history deleted where it is no longer active.
S["clone-orphan-instance-history-kept"] = cib(N2, [clone("c", prim("w"), {"clone-max": "1"})], "",
                                              {"node1": running("w"), "node2": stopped("w")})
S["agent-changed-history-deleted"] = cib(N2, [prim("web")], '<rsc_location id="l1" rsc="web" node="node1" score="10"/>',
                                         {"node1": running("web"), "node2": stopped("web", typ="Stateful")})
# Old-style history names with instance numbers (w:1) for an anonymous
# clone: a stopped one no longer names the instance (Pacemaker resets
# clone_name), so the start there is printed with the instance's own name.
S["clone-old-instance-names"] = cib(N3, [clone("c", prim("w"))], "",
                                    {"node1": lrm("w:1", [op("w:1", "start", call=10, digest=EMPTY)]),
                                     "node2": lrm("w:0", [op("w:0", "monitor", 0, rc=7, call=2, digest=EMPTY)]),
                                     "node3": lrm("w:2", [op("w:2", "monitor", 0, rc=7, call=2, digest=EMPTY)])})

def main():
    for name, xml in sorted(S.items()):
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "cib.xml"), "w") as f:
            f.write(xml)
    print("%d scenarios" % len(S))


if __name__ == "__main__":
    main()

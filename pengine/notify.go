package pengine

import (
	"sort"
	"strings"
)

// createNotifications adds clone notifications (notify=true) around every
// clone phase that will run. It runs after ordering propagation, as
// Pacemaker expands notifications when it builds the graph.
func (s *sched) createNotifications() {
	for _, r := range s.resources {
		if r.isClone() && r.notify {
			s.cloneNotifications(r)
		}
	}
}

func (s *sched) notifyPseudo(r *Resource, key, task string) *Action {
	a := s.customAction(r, key, task, nil, false)
	a.set(afPseudo | afRunnable)
	a.clear(afOptional)
	return a
}

func (s *sched) cloneNotifications(r *Resource) {
	phases := []struct{ task, done string }{{"demote", "demoted"}, {"stop", "stopped"}, {"start", "running"}, {"promote", "promoted"}}
	var prevDone *Action
	var lists map[string]string
	for _, ph := range phases {
		ca := s.firstActionByKey(r, opKey(r.ID, ph.task, 0))
		done := s.firstActionByKey(r, opKey(r.ID, ph.done, 0))
		if ca == nil || done == nil || !s.shouldGraph(ca) {
			continue
		}
		var leaves []*Resource
		for _, inst := range r.Children {
			leaves = inst.primitives(leaves)
		}
		acting := false
		for _, p := range leaves {
			for _, a := range p.actionIdx[opKey(p.ID, ph.task, 0)] {
				if s.shouldGraph(a) {
					acting = true
				}
			}
		}
		if !acting && ph.task != "stop" {
			continue
		}
		pre := s.notifyPseudo(r, r.ID+"_pre_notify_"+ph.task+"_0", "notify")
		preDone := s.notifyPseudo(r, r.ID+"_confirmed-pre_notify_"+ph.task+"_0", "notified")
		post := s.notifyPseudo(r, r.ID+"_post_notify_"+ph.done+"_0", "notify")
		postDone := s.notifyPseudo(r, r.ID+"_confirmed-post_notify_"+ph.done+"_0", "notified")
		for _, a := range []*Action{pre, preDone, post, postDone} {
			a.Meta["notify_type"] = "pre"
			a.Meta["notify_operation"] = ph.task
			a.Meta["notify_key_operation"] = ph.task
		}
		post.Meta["notify_type"] = "post"
		postDone.Meta["notify_type"] = "post"
		post.Meta["notify_key_operation"] = ph.done
		postDone.Meta["notify_key_operation"] = ph.done
		pre.Meta["notify_key_type"] = "pre"
		preDone.Meta["notify_key_type"] = "confirmed-pre"
		post.Meta["notify_key_type"] = "post"
		postDone.Meta["notify_key_type"] = "confirmed-post"
		if lists == nil {
			lists = s.notifyLists(r)
		}
		// the instances' own actions of this phase carry the lists too
		for _, p := range leaves {
			for _, a := range p.actions {
				if a.Task == ph.task && a.Node != nil {
					for k, v := range lists {
						if strings.HasSuffix(k, "_resource") || strings.HasSuffix(k, "_uname") {
							a.Meta[k] = v
						}
					}
				}
			}
		}
		s.orderActions(pre, preDone, arOrdered)
		s.orderActions(preDone, ca, arOrdered)
		s.orderActions(done, post, arOrdered)
		s.orderActions(post, postDone, arOrdered)
		if prevDone != nil {
			s.orderActions(prevDone, pre, arOrdered)
		}
		prevDone = postDone
		notifyOn := func(p *Resource, n *Node, kind string, first, then *Action) {
			if n == nil || !n.Online || n.Unclean || !p.Managed {
				return
			}
			a := s.customAction(p, p.ID+"_"+kind+"_notify_"+ph.task+"_0", "notify", n, false)
			a.Task = "notify"
			a.set(afRunnable)
			a.Meta["notify_type"] = kind
			a.Meta["notify_operation"] = ph.task
			a.Meta["notify_key_type"] = kind
			a.Meta["notify_key_operation"] = ph.task
			if kind == "post" {
				a.Meta["notify_key_operation"] = ph.done
			}
			for k, v := range lists {
				a.Meta[k] = v
			}
			s.orderActions(first, a, arOrdered)
			s.orderActions(a, then, arOrdered)
		}
		for _, p := range leaves {
			switch ph.task {
			case "stop", "demote":
				if p.Role == RoleStopped || p.Role == RoleUnknown {
					continue
				}
				stop := s.firstAction(p, "stop", nil)
				for _, n := range p.RunningOn {
					if stop != nil && stop.is(afPseudo) && n.Unclean {
						continue
					}
					notifyOn(p, n, "pre", pre, preDone)
					if ph.task == "demote" || stop == nil || !s.shouldGraph(stop) {
						notifyOn(p, n, "post", post, postDone)
					}
				}
			default:
				if p.NextRole == RoleStopped || p.AssignedTo == nil {
					continue
				}
				start := s.firstAction(p, "start", p.AssignedTo)
				if start != nil && !start.is(afRunnable) {
					continue
				}
				if ph.task != "start" || start == nil || !s.shouldGraph(start) {
					notifyOn(p, p.AssignedTo, "pre", pre, preDone)
				}
				notifyOn(p, p.AssignedTo, "post", post, postDone)
			}
		}
	}
}

// notifyEntry is one clone instance (primitive) and the node it is on or
// acts on, for the notify_* lists.
type notifyEntry struct {
	rsc  *Resource
	node *Node
}

// notifyLists computes the notify_* meta attributes every notify action of
// a clone carries (Pacemaker's collect_resource_data and add_notif_keys):
// instances by current role, instances by required runnable start, stop,
// promote and demote, and the clone's allowed and all node names. Lists are
// space separated, sorted by instance id; an empty list is " ".
func (s *sched) notifyLists(clone *Resource) map[string]string {
	var active, inactive, promoted, unpromoted []notifyEntry
	byTask := map[string][]notifyEntry{}
	for _, inst := range clone.Children {
		for _, p := range inst.primitives(nil) {
			var n *Node
			if len(p.RunningOn) > 0 {
				n = p.RunningOn[0]
			}
			e := notifyEntry{p, n}
			switch {
			case n == nil || p.Role <= RoleStopped:
				inactive = append(inactive, e)
			case p.Role == RolePromoted:
				promoted = append(promoted, e)
				active = append(active, e)
			case p.Role == RoleUnpromoted:
				unpromoted = append(unpromoted, e)
				active = append(active, e)
			default:
				active = append(active, e)
			}
			for _, a := range p.actions {
				if a.is(afOptional) || a.Node == nil {
					continue
				}
				switch a.Task {
				case "start", "stop", "promote", "demote":
				default:
					continue
				}
				if !a.is(afRunnable) && !(a.Task == "stop" && a.Node.Unclean) {
					continue
				}
				byTask[a.Task] = append(byTask[a.Task], notifyEntry{p, a.Node})
			}
		}
	}
	out := map[string]string{}
	put := func(name string, l []notifyEntry, withNodes bool) {
		rscs, nodes := notifyStrings(l)
		out["notify_"+name+"_resource"] = rscs
		if withNodes {
			out["notify_"+name+"_uname"] = nodes
		}
	}
	for _, t := range []string{"start", "stop", "promote", "demote"} {
		put(t, byTask[t], true)
	}
	put("active", active, true)
	put("inactive", inactive, false)
	put("promoted", promoted, true)
	put("unpromoted", unpromoted, true)
	put("master", promoted, true)
	put("slave", unpromoted, true)
	var avail, all []string
	for _, n := range s.nodes {
		all = append(all, n.Uname)
		if clone.allowed[n.index] != absent {
			avail = append(avail, n.Uname)
		}
	}
	sort.Strings(avail)
	sort.Strings(all)
	out["notify_available_uname"] = wordsOrSpace(avail)
	out["notify_all_uname"] = wordsOrSpace(all)
	return out
}

func notifyStrings(l []notifyEntry) (string, string) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].rsc.ID != l[j].rsc.ID {
			return l[i].rsc.ID < l[j].rsc.ID
		}
		ni, nj := "", ""
		if l[i].node != nil {
			ni = l[i].node.Uname
		}
		if l[j].node != nil {
			nj = l[j].node.Uname
		}
		return ni < nj
	})
	var rscs, nodes []string
	last := ""
	for _, e := range l {
		if e.rsc.ID == last {
			continue
		}
		last = e.rsc.ID
		rscs = append(rscs, e.rsc.ID)
		if e.node != nil {
			nodes = append(nodes, e.node.Uname)
		}
	}
	return wordsOrSpace(rscs), wordsOrSpace(nodes)
}

func wordsOrSpace(w []string) string {
	if len(w) == 0 {
		return " "
	}
	return strings.Join(w, " ")
}

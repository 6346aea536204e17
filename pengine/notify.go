package pengine

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
		}
		post.Meta["notify_type"] = "post"
		postDone.Meta["notify_type"] = "post"
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

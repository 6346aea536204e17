package pengine

import (
	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
)

// Result is the outcome of one computation.
type Result struct {
	// Graph is the transition graph.
	Graph *Graph
	// Summary holds the "Transition Summary" lines.
	Summary []string
	// Execution holds the "Executing Cluster Transition" lines of a
	// simulated run in which every action succeeds.
	Execution []string
	// CurrentStatus and RevisedStatus are the cluster-status blocks.
	CurrentStatus []string
	RevisedStatus []string
	// Scores lists allocation scores when Config.ShowScores is set.
	Scores []string
	// Warnings are configuration problems found while unpacking.
	Warnings []string

	debug []string
}

// Compute runs the scheduler over a CIB.
func Compute(c *cib.CIB, cfg Config) (res *Result, err error) {
	if c == nil {
		return nil, ErrNoCIB
	}
	return ComputeDoc(c.Doc(), cfg)
}

// ComputeDoc runs the scheduler over a parsed CIB document (from cib.Parse
// or ParseXML). The document is only read.
func ComputeDoc(doc *etree.Document, cfg Config) (res *Result, err error) {
	return computeDoc(doc, nil, cfg)
}

// ComputeInput runs the scheduler over a CIB read by ParseInput. The input
// is only read.
func ComputeInput(in *Input, cfg Config) (res *Result, err error) {
	if in == nil {
		return nil, ErrNoCIB
	}
	return computeDoc(in.Doc, in.history, cfg)
}

func computeDoc(doc *etree.Document, hist map[*etree.Element][]*histOp, cfg Config) (res *Result, err error) {
	if doc == nil || doc.Root() == nil {
		return nil, ErrNoCIB
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newSched(doc, cfg)
	s.compactHist = hist
	s.run()
	g := s.buildGraph()
	res = &Result{Graph: g}
	res.CurrentStatus = s.currentStatus
	res.Summary = s.summary()
	res.Execution = s.executionLines(g, nil)
	fenced := map[*Node]bool{}
	for _, syn := range g.Synapses {
		if syn.Action.Operation == "stonith" || syn.Action.Operation == "do_shutdown" {
			if n := s.nodeByUname[syn.Action.Node]; n != nil {
				fenced[n] = true
			}
		}
	}
	res.RevisedStatus = s.statusLines(true, fenced)
	res.Scores = s.scoreLines()
	res.Warnings = append(s.configErrs, s.warnings...)
	if cfg.Debug {
		res.debug = s.debugLines()
	}
	return res, nil
}

func (s *sched) run() {
	s.unpackConfig()
	s.unpackNodes()
	s.unpackResources()
	s.unpackStatus()
	s.currentStatus = s.statusLines(false, nil)
	s.unpackConstraints()
	s.applyNodeCriteria()
	for _, r := range s.resources {
		s.internalConstraints(r)
	}
	s.handleConfigChanges()
	s.initCapacity()
	s.assignAll()
	s.scheduleProbes()
	for _, r := range s.resources {
		if r.Orphan && s.stopOrphanRsc {
			for _, n := range s.nodes {
				if fc, _ := s.failcount(r, n, false); fc > 0 && n.Online {
					s.clearFailcount(r, n, "it is orphaned")
				}
			}
		}
	}
	for _, r := range s.resources {
		s.createActions(r)
	}
	s.scheduleFencingAndShutdowns()
	s.applyOrderings()
	s.createNotifications()
}

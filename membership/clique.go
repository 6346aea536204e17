package membership

import "math/bits"

// nodeSet is a set of node indices (indices into the name-sorted configured nodes).
type nodeSet uint64

func bit(i int) nodeSet                   { return nodeSet(1) << uint(i) }
func (s nodeSet) has(i int) bool          { return s&bit(i) != 0 }
func (s nodeSet) count() int              { return bits.OnesCount64(uint64(s)) }
func (s nodeSet) lowest() int             { return bits.TrailingZeros64(uint64(s)) }
func (s nodeSet) subsetOf(t nodeSet) bool { return s&^t == 0 }

// lexLess reports whether a sorts before b when both are read as ascending lists of node
// indices (equivalently, of node names, since indices follow name order). For sets of
// equal size this is the tie-break of MaxClique.
func lexLess(a, b nodeSet) bool {
	d := a ^ b
	if d == 0 {
		return false
	}
	return a.has(d.lowest())
}

// Graph is an undirected graph over at most 64 vertices as adjacency bitsets: Adj[i] has
// bit j set when i and j are connected both ways. Adj[i] must not contain i.
type Graph struct {
	Adj [MaxNodes]uint64
}

// MaxClique returns the largest set of vertices within cand that are pairwise adjacent.
// Among several largest sets it returns the one whose ascending vertex list compares
// smallest (lexicographically), so every node computing it from the same reports picks the
// same set. It is exact: a Tomita-style branch and bound (greedy colouring bound) finds the
// clique size, then a lexicographic search with the same bound finds the smallest clique of
// that size.
func (g *Graph) MaxClique(cand uint64) uint64 {
	c := nodeSet(cand)
	if c == 0 {
		return 0
	}
	s := searcher{g: g}
	// A lower bound speeds up both phases: any single vertex is a clique.
	s.best = 1
	s.expand(0, c)
	var out nodeSet
	s.lexFind(0, c, s.best, &out)
	return uint64(out)
}

type searcher struct {
	g     *Graph
	best  int
	steps int
}

func (s *searcher) adj(v int) nodeSet { return nodeSet(s.g.Adj[v]) }

// colour greedily colours the vertices of p and returns them in colour order with each
// vertex's colour number (1-based); any clique within the vertices up to position k uses at
// most colours[k] vertices. Sequential greedy colouring in index order is deterministic.
func (s *searcher) colour(p nodeSet, order *[MaxNodes]int8, colours *[MaxNodes]int8) int {
	n := 0
	k := int8(0)
	for p != 0 {
		k++
		q := p
		for q != 0 {
			v := q.lowest()
			q &^= bit(v)
			// v joins colour class k: remove its neighbours from the class candidates.
			q &^= s.adj(v)
			p &^= bit(v)
			order[n] = int8(v)
			colours[n] = k
			n++
		}
	}
	return n
}

// expand is Tomita's MCQ: branch on vertices from the highest colour down, pruning when
// even the colouring bound cannot beat the best size found.
func (s *searcher) expand(size int, p nodeSet) {
	var order, colours [MaxNodes]int8
	n := s.colour(p, &order, &colours)
	for i := n - 1; i >= 0; i-- {
		if size+int(colours[i]) <= s.best {
			return
		}
		s.steps++
		v := int(order[i])
		np := p & s.adj(v)
		if np == 0 {
			if size+1 > s.best {
				s.best = size + 1
			}
		} else {
			s.expand(size+1, np)
		}
		p &^= bit(v)
	}
}

// lexFind looks for a clique of need more vertices within p, trying vertices in ascending
// order, so the first clique found is the lexicographically smallest one.
func (s *searcher) lexFind(r, p nodeSet, need int, out *nodeSet) bool {
	if need == 0 {
		*out = r
		return true
	}
	if p.count() < need {
		return false
	}
	var order, colours [MaxNodes]int8
	if n := s.colour(p, &order, &colours); int(colours[n-1]) < need {
		return false
	}
	for p != 0 && p.count() >= need {
		s.steps++
		v := p.lowest()
		p &^= bit(v)
		if s.lexFind(r|bit(v), p&s.adj(v), need-1, out) {
			return true
		}
	}
	return false
}

// partitionOf splits the vertices of cand into cliques the way every node does: the
// maximum clique first, then the maximum clique of what is left, and so on, and returns the
// clique holding vertex self (or 0 if self is not in cand).
func (g *Graph) partitionOf(cand nodeSet, self int) nodeSet {
	for cand.has(self) {
		c := nodeSet(g.MaxClique(uint64(cand)))
		if c.has(self) {
			return c
		}
		cand &^= c
	}
	return 0
}

// component returns the vertices reachable from self over edges within cand.
func (g *Graph) component(cand nodeSet, self int) nodeSet {
	if !cand.has(self) {
		return 0
	}
	seen := bit(self)
	frontier := seen
	for frontier != 0 {
		v := frontier.lowest()
		frontier &^= bit(v)
		next := nodeSet(g.Adj[v]) & cand &^ seen
		seen |= next
		frontier |= next
	}
	return seen
}

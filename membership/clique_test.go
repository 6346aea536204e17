package membership

import (
	"fmt"
	"math/rand"
	"testing"
)

func randomGraph(r *rand.Rand, n int, p float64) *Graph {
	var g Graph
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if r.Float64() < p {
				g.Adj[i] |= 1 << uint(j)
				g.Adj[j] |= 1 << uint(i)
			}
		}
	}
	return &g
}

// bruteClique enumerates every subset (n <= 16) and keeps the largest clique, ties to the
// lexicographically smallest ascending list.
func bruteClique(g *Graph, cand uint64) uint64 {
	var best uint64
	for s := cand; ; s = (s - 1) & cand {
		ok := true
		for t := s; t != 0 && ok; t &= t - 1 {
			v := nodeSet(t).lowest()
			if nodeSet(s&^(1<<uint(v)))&^nodeSet(g.Adj[v]) != 0 {
				ok = false
			}
		}
		if ok {
			a, b := nodeSet(s).count(), nodeSet(best).count()
			if a > b || (a == b && lexLess(nodeSet(s), nodeSet(best))) {
				best = s
			}
		}
		if s == 0 {
			break
		}
	}
	return best
}

func TestMaxCliqueMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		n := 1 + r.Intn(14)
		p := []float64{0.2, 0.5, 0.8, 0.95}[r.Intn(4)]
		g := randomGraph(r, n, p)
		cand := uint64(1)<<uint(n) - 1
		if r.Intn(3) == 0 {
			cand &= r.Uint64()
		}
		got, want := g.MaxClique(cand), bruteClique(g, cand)
		if got != want {
			t.Fatalf("case %d (n=%d p=%v cand=%b): got %b want %b", i, n, p, cand, got, want)
		}
	}
}

func TestMaxCliqueTable(t *testing.T) {
	edges := func(n int, es ...[2]int) *Graph {
		var g Graph
		for _, e := range es {
			g.Adj[e[0]] |= 1 << uint(e[1])
			g.Adj[e[1]] |= 1 << uint(e[0])
		}
		return &g
	}
	full := func(n int) *Graph {
		var g Graph
		for i := 0; i < n; i++ {
			g.Adj[i] = (uint64(1)<<uint(n) - 1) &^ (1 << uint(i))
		}
		return &g
	}
	for _, tc := range []struct {
		name string
		g    *Graph
		cand uint64
		want uint64
	}{
		{"empty", &Graph{}, 0, 0},
		{"isolated vertices pick the lowest", &Graph{}, 0b1110, 0b0010},
		{"complete 5", full(5), 0b11111, 0b11111},
		{"complete 64", full(64), ^uint64(0), ^uint64(0)},
		// 0-1-2-3 with 0-2, 1-3 missing 0-3: cliques {0,1,2} and {1,2,3}; tie to {0,1,2}.
		{"tie to smallest names", edges(4, [2]int{0, 1}, [2]int{0, 2}, [2]int{1, 2}, [2]int{1, 3}, [2]int{2, 3}), 0b1111, 0b0111},
		// Asymmetric cut between 0 and 1 in a 4-node cluster: {0,2,3} wins over {1,2,3}.
		{"cut pair", edges(4, [2]int{0, 2}, [2]int{0, 3}, [2]int{1, 2}, [2]int{1, 3}, [2]int{2, 3}), 0b1111, 0b1101},
		{"candidates restrict", full(6), 0b101010, 0b101010},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.g.MaxClique(tc.cand); got != tc.want {
				t.Fatalf("got %b want %b", got, tc.want)
			}
		})
	}
}

func TestPartition(t *testing.T) {
	// Two triangles {0,1,2} and {3,4,5} joined by edge 2-3; vertex 6 isolated.
	var g Graph
	add := func(a, b int) { g.Adj[a] |= 1 << uint(b); g.Adj[b] |= 1 << uint(a) }
	add(0, 1)
	add(0, 2)
	add(1, 2)
	add(3, 4)
	add(3, 5)
	add(4, 5)
	add(2, 3)
	all := nodeSet(0b1111111)
	for v, want := range []nodeSet{0b111, 0b111, 0b111, 0b111000, 0b111000, 0b111000, 0b1000000} {
		if got := g.partitionOf(all, v); got != want {
			t.Errorf("partitionOf(%d) = %b, want %b", v, got, want)
		}
	}
	if got := g.component(all, 0); got != 0b111111 {
		t.Errorf("component(0) = %b", got)
	}
}

// clusterGraph is what a real cluster looks like: nearly complete, with a few cut links.
func clusterGraph(r *rand.Rand, n, cuts int) *Graph {
	g := randomGraph(r, n, 1)
	for i := 0; i < cuts; i++ {
		a, b := r.Intn(n), r.Intn(n)
		g.Adj[a] &^= 1 << uint(b)
		g.Adj[b] &^= 1 << uint(a)
	}
	return g
}

func BenchmarkMaxClique(b *testing.B) {
	for _, n := range []int{16, 32, 64} {
		cand := ^uint64(0) >> uint(64-n)
		for _, kind := range []string{"cluster", "p0.5", "p0.9"} {
			r := rand.New(rand.NewSource(int64(n)))
			graphs := make([]*Graph, 16)
			for i := range graphs {
				switch kind {
				case "cluster":
					graphs[i] = clusterGraph(r, n, n/4)
				case "p0.5":
					graphs[i] = randomGraph(r, n, 0.5)
				case "p0.9":
					graphs[i] = randomGraph(r, n, 0.9)
				}
			}
			b.Run(fmt.Sprintf("nodes=%d/%s", n, kind), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					graphs[i%len(graphs)].MaxClique(cand)
				}
			})
		}
	}
}

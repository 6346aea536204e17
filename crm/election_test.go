package crm

import (
	"testing"

	"github.com/systole/systole/cib"
)

func TestElectWinner(t *testing.T) {
	v := func(ae, e, nu int64) cib.Version { return cib.Version{AdminEpoch: ae, Epoch: e, NumUpdates: nu} }
	type vote struct {
		name  string
		wasDC bool
		ver   cib.Version
	}
	tests := []struct {
		name  string
		votes []vote
		want  string
	}{
		{"fresh cluster: first name", []vote{{"b", false, v(0, 0, 0)}, {"a", false, v(0, 0, 0)}, {"c", false, v(0, 0, 0)}}, "a"},
		{"highest version", []vote{{"a", false, v(0, 5, 0)}, {"b", false, v(0, 6, 0)}, {"c", false, v(0, 5, 9)}}, "b"},
		{"num_updates breaks an epoch tie", []vote{{"a", false, v(0, 5, 1)}, {"b", false, v(0, 5, 2)}}, "b"},
		{"admin_epoch dominates", []vote{{"a", false, v(0, 99, 99)}, {"b", false, v(1, 0, 0)}}, "b"},
		{"running DC keeps the role when nodes join", []vote{{"a", false, v(0, 9, 0)}, {"c", true, v(0, 5, 0)}, {"b", false, v(0, 0, 0)}}, "c"},
		{"two DCs merging: newer CIB", []vote{{"a", true, v(0, 5, 0)}, {"b", true, v(0, 7, 0)}, {"c", false, v(0, 9, 0)}}, "b"},
		{"two DCs, same version: first name", []vote{{"b", true, v(0, 5, 0)}, {"a", true, v(0, 5, 0)}}, "a"},
		{"single node", []vote{{"z", false, v(0, 0, 0)}}, "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			votes := map[string]Message{}
			for _, vo := range tt.votes {
				votes[vo.name] = Message{Type: MsgVote, WasDC: vo.wasDC, Version: vo.ver}
			}
			if got := electWinner(votes); got != tt.want {
				t.Errorf("winner = %s, want %s", got, tt.want)
			}
		})
	}
}

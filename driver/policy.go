package driver

import (
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/rules"
)

// Grants are what the exemption annotations of the snapshot's objects
// grant (lint.Grants): the Options.Prior of a run compared with this one.
func (s *Snapshot) Grants() []lint.Grant { return lint.Grants(s.objects) }

// Disabled returns the IDs of the rules the repository's policy turns
// off, in catalogue order: of the rules it runs (Options.Rules, else the
// catalogue), those its settings do not enable.
func (r *Repo) Disabled() []string {
	all := r.rules
	if all == nil {
		all = rules.All()
	}
	settings := r.settings
	if settings == nil {
		settings = r.cfg.Settings()
	}
	on := map[*lint.Rule]bool{}
	for _, rl := range settings.Enabled(all) {
		on[rl] = true
	}
	var out []string
	for _, rl := range all {
		if !on[rl] {
			out = append(out, rl.ID)
		}
	}
	return out
}

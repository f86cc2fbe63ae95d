package render

import "testing"

func TestNormalizeRepoURL(t *testing.T) {
	same := []string{
		"https://github.com/acme/fleet",
		"https://github.com/acme/fleet.git",
		"https://github.com/acme/fleet/",
		"HTTPS://GitHub.com/acme/Fleet.git/",
		"https://user:token@github.com/acme/fleet",
		"http://github.com:443/acme/fleet",
		"ssh://git@github.com/acme/fleet.git",
		"ssh://git@github.com:22/acme/fleet",
		"git@github.com:acme/fleet.git",
		"github.com:acme/fleet",
		"git://github.com/acme/fleet",
		" https://github.com/acme/fleet\n",
	}
	for _, u := range same {
		if got := NormalizeRepoURL(u); got != "github.com/acme/fleet" {
			t.Errorf("NormalizeRepoURL(%q) = %q, want github.com/acme/fleet", u, got)
		}
	}
	different := []string{"https://github.com/acme/fleet-apps", "https://gitlab.com/acme/fleet", "git@github.com:acme/other.git", "", "./local"}
	for _, u := range different {
		if got := NormalizeRepoURL(u); got == "github.com/acme/fleet" {
			t.Errorf("NormalizeRepoURL(%q) = %q: must differ", u, got)
		}
	}
}

package render

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// describe renders a target as one line for comparison.
func describe(t *Target) string {
	s := fmt.Sprintf("%s %s", t.Kind, t.Path)
	if t.Namespace != "" {
		s += " ns=" + t.Namespace
		if t.ForceNamespace {
			s += "!"
		}
	}
	if t.Recurse {
		s += " recurse"
	}
	if h := t.Helm; h != nil {
		if h.ReleaseName != "" {
			s += " release=" + h.ReleaseName
		}
		if len(h.ValueFiles) > 0 {
			s += " values=" + strings.Join(h.ValueFiles, ",")
		}
		if len(h.Values) > 0 {
			s += fmt.Sprintf(" inline=%s:%d", h.Values[0].File, h.Values[0].Node.Line)
		}
		if len(h.Set) > 0 {
			s += " set=" + strings.Join(h.Set, ",")
		}
	}
	if t.Via != nil {
		s += fmt.Sprintf(" via=%s/%s@%s:%d", t.Via.Kind, t.Via.Name, t.Via.File, t.Via.Line)
	}
	return s
}

func TestDiscover(t *testing.T) {
	fsys := unpack(t, "discover/gitops.txtar")
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, describe(tg))
	}
	want := []string{
		"manifests apps/appset.yaml",
		"manifests apps/elsewhere.yaml",
		"manifests apps/web-prod.yaml",
		"manifests apps/web-staging.yaml",
		"helm charts/lonely",
		"helm charts/web ns=web release=web-prod values=charts/web/values-prod.yaml set=image=nginx:1.27 via=Application/web-prod@apps/web-prod.yaml:1",
		"helm charts/web ns=staging release=web values=envs/prod/web-values.yaml via=Application/web-staging@apps/web-staging.yaml:1",
		"helm charts/web ns=web-dev release=web-dev via=ApplicationSet/envs/web-dev@apps/appset.yaml:9",
		"helm charts/web ns=web-qa release=web-qa via=ApplicationSet/envs/web-qa@apps/appset.yaml:11",
		"helm charts/worker ns=jobs release=worker inline=flux/worker.yaml:14 via=HelmRelease/worker@flux/worker.yaml:1",
		"manifests flux/worker.yaml",
		"manifests infra ns=infra! recurse via=Kustomization/infra@flux/worker.yaml:16",
		"manifests manifests/pod.yaml",
		"kustomize overlay",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(repo.Errors) != 0 {
		t.Errorf("errors: %v", repo.Errors)
	}
}

func TestDiscoverIncludeExclude(t *testing.T) {
	fsys := unpack(t, "discover/gitops.txtar")
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{Include: []string{"charts/**"}, Exclude: []string{"charts/lonely"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, tg.Kind.String()+" "+tg.ID())
	}
	want := "helm charts/web (Application web-prod)\nhelm charts/web (Application web-staging)\n" +
		"helm charts/web (ApplicationSet envs/web-dev)\nhelm charts/web (ApplicationSet envs/web-qa)\nhelm charts/worker (HelmRelease worker)"
	if strings.Join(got, "\n") != want {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

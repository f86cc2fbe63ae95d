package render

import "context"

// helmCache holds charts loaded once per run.
type helmCache struct{}

func newHelmCache() *helmCache { return &helmCache{} }

func (r *Renderer) renderHelm(ctx context.Context, t *Target) ([]*Object, error) {
	return nil, errorf(t.Path, 0, "helm rendering not implemented yet")
}

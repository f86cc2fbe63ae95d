package render

import "context"

func (r *Renderer) renderKustomize(ctx context.Context, t *Target) ([]*Object, error) {
	return nil, errorf(t.Path, 0, "kustomize rendering not implemented yet")
}

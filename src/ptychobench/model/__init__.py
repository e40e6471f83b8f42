"""The PINN model: architecture settings (:mod:`.spec`), the differentiable physics
(:mod:`.physics_layers`) and the network (:mod:`.network`)."""

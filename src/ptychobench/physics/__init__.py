"""Physics: the synthetic 'lines' object, the probe, the far-field forward model, Poisson
observation and the intensity scales. Pure NumPy functions, float32/complex64 outputs."""

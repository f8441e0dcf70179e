"""bioattn: spiking circuits of selective attention compared with softmax Q/K/V attention."""

__version__ = "0.1.0"

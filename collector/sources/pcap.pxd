# Cython declarations for pcap.py (setup.py compiles it; the .py stays the source):
# C integers for the record loop of a classic pcap file.
cimport cython


@cython.locals(end=Py_ssize_t, incl=Py_ssize_t, times=list, offsets=list, lengths=list)
cpdef Py_ssize_t _pcap_records(object buf, Py_ssize_t off, object unpack, double scale,
                               object rec, Py_ssize_t batch)

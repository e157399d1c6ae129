# SPDX-License-Identifier: MIT
# One lock taken alone at one line, then (in the same thread) held at
# another while a second lock is taken: the DEP must cite the second line
# for the held lock, not the first.
import threading

a = threading.Lock()
b = threading.Lock()

with a:                 # line 10: alone, nothing else held
    pass

with a:                 # line 13: the acquisition the DEP must cite
    with b:
        pass

"""The Keras worker: runs *inside* the bubblewrap sandbox, one per Keras major version.

This folder (and ``verifiers/protocol.py``) is bound read-only into the sandbox and never imports
the rest of the project: stdlib, TensorFlow, numpy and pyseccomp only.

Three kinds of process, each with one job:

- ``main``: the dispatcher. Reads requests, owns the uid pool and the scratch folder, reads each
  child's result straight from the child's pipe, enforces the timeout, cleans up, replies. It
  never imports TensorFlow and never forks a child.
- ``template``: imports TensorFlow once and only forks. It never sees a snippet's code or result,
  so no child can find an earlier job's data in the memory it inherits.
- ``child``: one per snippet; isolates itself (uid, rlimits, seccomp) and runs the code.
"""

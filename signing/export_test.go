package signing

// VerifyInTree verifies an envelope read whole into the tree, its Body
// canonicalized afterwards: the oracle the one-pass Verify is held to.
func (v *Verifier) VerifyInTree(envelope []byte) (*Result, error) { return v.verify(envelope, nil) }

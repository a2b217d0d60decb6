"""The language server: pygls wiring only. Analysis lives in `aiiac_ls.workspace` and the engine."""

;;; aiiac-eglot.el --- aiiac-ls in Emacs through eglot  -*- lexical-binding: t -*-
;;
;; Load it from your init file, after setting `aiiac-command' if aiiac-ls is not on PATH:
;;
;;   (setq aiiac-command '("aiiac-ls"))
;;   (load "/path/to/aiiac-eglot.el")
;;
;; One server per project (eglot's project: the git repository), shared by the Terraform and
;; YAML buffers in it. `.tf' and `.tfvars' use terraform-mode or hcl-mode when installed (MELPA;
;; Debian packages neither); without them, a small mode of our own stands in, so eglot has a
;; mode to attach the server to.

(require 'eglot)

(defvar aiiac-command '("aiiac-ls")
  "How to start the aiiac language server.")

(unless (or (fboundp 'terraform-mode) (fboundp 'hcl-mode))
  (define-derived-mode aiiac-hcl-mode prog-mode "HCL"
    "Terraform files, for aiiac-ls (terraform-mode or hcl-mode is not installed).")
  (add-to-list 'auto-mode-alist '("\\.tf\\(vars\\)?\\'" . aiiac-hcl-mode)))

(add-to-list 'eglot-server-programs
             `((terraform-mode hcl-mode aiiac-hcl-mode yaml-mode yaml-ts-mode)
               . ,(lambda (&optional _interactive) aiiac-command)))

(dolist (hook '(terraform-mode-hook hcl-mode-hook aiiac-hcl-mode-hook yaml-mode-hook yaml-ts-mode-hook))
  (add-hook hook #'eglot-ensure))

(provide 'aiiac-eglot)
;;; aiiac-eglot.el ends here

;;; eglot.el --- Emacs (batch) + eglot driving aiiac-ls through the documented setup
;;; (docs/editors/aiiac-eglot.el): diagnostics, code action applied, hover on YAML, then a .tf
;;; file of the same project on the same server  -*- lexical-binding: t -*-
;; Environment: AIIAC_CMD (JSON list), AIIAC_EGLOT_SETUP, AIIAC_FILE, AIIAC_TF, AIIAC_OUT.
(require 'eglot)
(require 'yaml-mode)
(setq aiiac-command (append (json-read-from-string (getenv "AIIAC_CMD")) nil))
(load (getenv "AIIAC_EGLOT_SETUP") nil t)
(require 'json)
(require 'cl-lib)

(defvar aiiac-steps nil)

(defun aiiac-finish (ok message)
  (with-temp-file (getenv "AIIAC_OUT")
    (insert (json-encode `((ok . ,(if ok t :json-false)) (message . ,message) (steps . ,aiiac-steps)))))
  (kill-emacs (if ok 0 1)))

(defun aiiac-diagnostics ()
  "LSP diagnostics of the current buffer, as eglot recorded them."
  (let ((diags (or (flymake-diagnostics) eglot--diagnostics)))
    (cl-loop for d in diags
             collect (cdr (assoc 'eglot-lsp-diag (flymake--diag-data d))))))

(defun aiiac-codes ()
  (sort (mapcar (lambda (d) (format "%s:%s" (plist-get d :code)
                                    (plist-get (plist-get (plist-get d :range) :start) :line)))
                (aiiac-diagnostics))
        #'string<))

(defun aiiac-wait (predicate seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall predicate)))

(condition-case err
    (progn
      (find-file (getenv "AIIAC_FILE"))
      ;; eglot-ensure (the setup's hook) connects after the command; batch mode has no command loop
      (run-hooks 'post-command-hook)
      (unless (aiiac-wait (lambda () (aiiac-diagnostics)) 30) (error "no diagnostics"))
      (push (cons 'diagnostics (aiiac-codes)) aiiac-steps)
      (let* ((target (cl-find-if (lambda (d) (equal (plist-get d :code) "AIS201")) (aiiac-diagnostics)))
             (start (plist-get (plist-get target :range) :start))
             (beg (eglot--lsp-position-to-point start))
             (end (eglot--lsp-position-to-point (plist-get (plist-get target :range) :end))))
        (unless target (error "no AIS201 diagnostic"))
        (goto-char beg)
        (let ((hover (jsonrpc-request (eglot--current-server-or-lose) :textDocument/hover
                                      (eglot--TextDocumentPositionParams))))
          (push (cons 'hover (plist-get (plist-get hover :contents) :value)) aiiac-steps))
        (let* ((actions (eglot-code-actions beg end nil nil))
               (fix (cl-find-if (lambda (a) (plist-get a :isPreferred)) actions)))
          (unless fix (error "no preferred code action"))
          (push (cons 'action (plist-get fix :title)) aiiac-steps)
          (eglot--apply-workspace-edit (plist-get fix :edit))
          ;; eglot sends didChange from an idle timer, which never fires in batch mode
          (eglot--signal-textDocument/didChange)
          (push (cons 'line (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
                aiiac-steps)))
      (unless (aiiac-wait (lambda () (not (member "AIS201" (mapcar (lambda (d) (plist-get d :code))
                                                                   (aiiac-diagnostics)))))
                          30)
        (error "AIS201 still reported after the fix"))
      (push (cons 'after (aiiac-codes)) aiiac-steps)
      (save-buffer)
      ;; a .tf file of the same project: the mode the setup gives it, and the same server
      (let ((server (eglot-current-server)))
        (find-file (getenv "AIIAC_TF"))
        (run-hooks 'post-command-hook)
        (push (cons 'tf_mode (symbol-name major-mode)) aiiac-steps)
        (unless (aiiac-wait (lambda () (aiiac-diagnostics)) 30) (error "no diagnostics on the .tf file"))
        (push (cons 'tf (aiiac-codes)) aiiac-steps)
        (push (cons 'same_server (if (eq server (eglot-current-server)) t :json-false)) aiiac-steps)
        (push (cons 'servers (length (gethash (eglot--current-project) eglot--servers-by-project))) aiiac-steps))
      (aiiac-finish t "ok"))
  (error (aiiac-finish nil (error-message-string err))))

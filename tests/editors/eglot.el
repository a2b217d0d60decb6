;;; eglot.el --- Emacs (batch) + eglot driving aiiac-ls: diagnostics, code action applied, hover  -*- lexical-binding: t -*-
;; Environment: AIIAC_CMD (JSON list), AIIAC_FILE, AIIAC_OUT (results as JSON).
(require 'eglot)
(require 'yaml-mode)
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
      (setq eglot-server-programs
            `((yaml-mode . ,(append (json-read-from-string (getenv "AIIAC_CMD")) nil))))
      (find-file (getenv "AIIAC_FILE"))
      (yaml-mode)
      (apply #'eglot--connect (eglot--guess-contact))
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
      (aiiac-finish t "ok"))
  (error (aiiac-finish nil (error-message-string err))))

"""Mail delivery: one interface, backends chosen by MAIL_BACKEND."""

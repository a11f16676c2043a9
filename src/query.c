/* query.c: to be written */

/* msg.c: to be written */

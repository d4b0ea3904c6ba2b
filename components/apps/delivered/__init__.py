"""What kiban adds around the applications Argo CD delivers from their own repositories (their namespaces and
Applications are the platform's `DeliveredApplication`): access to the shared data stores."""
